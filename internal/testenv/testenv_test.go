package testenv_test

import (
	"context"
	"os"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	d365v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/testenv"
)

func TestStartServesTheCRDsAndWritesAKubeconfig(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if _, err := os.Stat(env.KubeconfigPath); !os.IsNotExist(err) {
			t.Errorf("Stop left the kubeconfig file behind: %v", err)
		}
	})

	var list d365v1alpha1.D365ConnectionList
	if err := env.Client.List(context.Background(), &list); err != nil {
		t.Fatalf("listing D365Connections (is the CRD installed?): %v", err)
	}

	// The kubeconfig file holds a client key: owner-only, and usable by client-go as kubectl would.
	fi, err := os.Stat(env.KubeconfigPath)
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("kubeconfig mode = %o, want 600", perm)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", env.KubeconfigPath)
	if err != nil {
		t.Fatalf("loading the kubeconfig: %v", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatalf("client from the kubeconfig: %v", err)
	}
	if err := c.List(context.Background(), &list); err != nil {
		t.Errorf("listing through the kubeconfig: %v", err)
	}

	// A user outside system:masters is subject to RBAC, which has granted it nothing.
	kc, err := env.Kubeconfig("nobody")
	if err != nil {
		t.Fatalf("Kubeconfig: %v", err)
	}
	restCfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		t.Fatalf("parsing the kubeconfig: %v", err)
	}
	nobody, err := client.New(restCfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatalf("client for nobody: %v", err)
	}
	if err := nobody.List(context.Background(), &list); !apierrors.IsForbidden(err) {
		t.Errorf("listing as a user without roles: got %v, want Forbidden", err)
	}
}

func TestStartFailsClearlyWithoutAControlPlane(t *testing.T) {
	t.Setenv("KUBEBUILDER_ASSETS", t.TempDir()) // a folder without kube-apiserver or etcd
	env, err := testenv.Start()
	if err == nil {
		_ = env.Stop()
		t.Fatal("Start succeeded without control plane binaries")
	}
	if !strings.Contains(err.Error(), "the control plane did not start") {
		t.Errorf("error does not say the control plane did not start: %v", err)
	}
}
