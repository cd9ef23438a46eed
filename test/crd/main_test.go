// Package crd_test checks the D365Connection CRD's validation on a real API server: the CEL
// rules in config/crd/bases must accept every valid spec and refuse each invalid one with a
// message a user understands.
package crd_test

import (
	"context"
	"os"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/d365-operator/d365-operator/internal/testenv"
)

// env is the control plane shared by every test in this package.
var env *testenv.Env

func TestMain(m *testing.M) {
	// envtest logs through controller-runtime; nothing here needs its output.
	logf.SetLogger(logr.Discard())
	os.Exit(testenv.RunTests(m, "crd tests", func(e *testenv.Env) error {
		env = e
		return nil
	}))
}

// newNamespace creates a namespace for one test, so tests never see each other's objects.
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}
