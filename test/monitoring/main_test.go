// Package monitoring_test checks what the chart ships for monitoring: the alert rules pass
// `promtool test rules` (series that fire and series that must not), and every query of
// the rules and the Grafana dashboard names a metric the operator really serves — scraped
// from the operator's binary running against a control plane and the simulator.
package monitoring_test

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/d365-operator/d365-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	logf.SetLogger(logr.Discard())
	os.Exit(testenv.RunTests(m, "monitoring tests", func(e *testenv.Env) error {
		env = e
		return nil
	}))
}
