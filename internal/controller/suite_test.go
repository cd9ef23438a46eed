package controller

import (
	"os"
	"testing"

	"github.com/d365-operator/d365-operator/internal/testenv"
)

// env is the real kube-apiserver and etcd every controller test runs against.
var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, "controller tests", func(e *testenv.Env) error {
		env = e
		return nil
	}))
}
