// Command demo runs the operator end to end on one machine: a local control plane (the
// kube-apiserver and etcd the tests use), the Entra ID + Dataverse simulator, and the operator
// built from this tree as a separate process. It applies the samples, waits for Ready, prints
// what a user would look at, and runs until Ctrl-C (or exits after the first Ready when
// DEMO_EXIT=1). `make demo` runs it.
//
// Environment:
//
//	DEMO_EXIT=1        exit 0 after the first Ready instead of waiting for Ctrl-C
//	DEMO_TIMEOUT=3m    how long to wait for Ready before failing
//	DEMO_DIR=.demo     where the kubeconfig, the simulator's CA and the operator's log go
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	opts, err := optionsFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
	// The first signal cancels ctx and the demo cleans up; later ones stay caught (stop is
	// only called on return) so a second Ctrl-C cannot orphan the control plane mid-cleanup.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	err = run(ctx, opts)
	interrupted := ctx.Err() != nil // read before stop, which cancels ctx too
	stop()
	switch {
	case interrupted && err == nil:
		fmt.Fprintln(os.Stderr, "demo: stopped; everything it started has been stopped")
	case interrupted:
		fmt.Fprintln(os.Stderr, "demo: interrupted:", err)
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// optionsFromEnv reads the DEMO_* variables.
func optionsFromEnv() (Options, error) {
	opts := Options{Out: os.Stdout, Timeout: defaultTimeout, Dir: os.Getenv("DEMO_DIR")}
	if v := os.Getenv("DEMO_EXIT"); v != "" {
		exit, err := strconv.ParseBool(v)
		if err != nil {
			return opts, fmt.Errorf("DEMO_EXIT=%q: want 1 or 0", v)
		}
		opts.Exit = exit
	}
	if v := os.Getenv("DEMO_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return opts, fmt.Errorf("DEMO_TIMEOUT=%q: want a positive duration such as 3m", v)
		}
		opts.Timeout = d
	}
	return opts, nil
}
