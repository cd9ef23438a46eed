package testenv

import (
	"fmt"
	"os"
	"testing"
)

// RunTests is a test package's TestMain body: it starts the control plane, hands it to
// ready (which keeps it and may install more), runs the tests and stops it. It returns the
// exit code for os.Exit. A control plane that cannot start, a failing ready, or one that
// cannot stop fails the package: it never skips, so a missing control plane cannot look
// like a passing suite. opts are Start's.
func RunTests(m *testing.M, suite string, ready func(*Env) error, opts ...Option) int {
	env, err := Start(opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", suite, err)
		return 1
	}
	code := 1
	if err := ready(env); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", suite, err)
	} else {
		code = m.Run()
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: stopping the control plane: %v\n", suite, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
