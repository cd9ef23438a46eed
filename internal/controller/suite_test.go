package controller

import (
	"fmt"
	"os"
	"testing"

	"github.com/d365-operator/d365-operator/internal/testenv"
)

// env is the real kube-apiserver and etcd every controller test runs against.
var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		// A missing control plane fails the suite; it never skips.
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
