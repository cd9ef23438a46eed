// Package install_test renders the two install paths — the Helm chart (charts/d365-operator)
// and kustomize (config/default, what `make deploy` and dist/install.yaml hold) — and has a
// real API server validate every object with a server-side dry run. It also checks what a
// dry run cannot: the chart's CRD and operator rules are the generated ones, the pod is
// hardened, and every flag the manifests pass exists in the operator.
package install_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/d365-operator/d365-operator/internal/testenv"
)

// env is the control plane shared by every test in this package.
var env *testenv.Env

func TestMain(m *testing.M) {
	logf.SetLogger(logr.Discard())
	os.Exit(testenv.RunTests(m, "install tests", func(e *testenv.Env) error {
		env = e
		return setup()
	}, testenv.WithAPIServerFlag("enable-admission-plugins", ownerReferencesPlugin)))
}

// setup installs what a real cluster would already have: the Prometheus Operator's
// ServiceMonitor CRD (for the chart's optional ServiceMonitor).
func setup() error {
	raw, err := os.ReadFile(filepath.Join("testdata", "servicemonitor-crd.yaml"))
	if err != nil {
		return err
	}
	objs, err := decodeYAML(raw)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			return fmt.Errorf("installing %s: %w", o.GetName(), err)
		}
	}
	return waitForKind(context.Background(), "monitoring.coreos.com", "v1", "ServiceMonitor")
}
