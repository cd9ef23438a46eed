// Command bench measures what a D365Connection costs: it starts a control plane
// (kube-apiserver and etcd) and the Entra ID + Dataverse simulator, runs the operator built
// from this tree as a separate process, creates N connections sharing K identities, and
// reports time to Ready, token, discovery and WhoAmI requests, API server writes per
// connection, the operator's memory and CPU at rest and in a refresh wave, and whether any
// token was seen expired. See docs/benchmark.md.
//
//	go run ./hack/bench -n 10000 -k 20        (or: make bench N=10000)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	o := defaultOptions()
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	o.bindFlags(fs)
	strict := fs.Bool("strict", false, "exit with status 3 when a target is missed")
	_ = fs.Parse(os.Args[1:])

	// The first SIGINT/SIGTERM cancels the run; everything started is then stopped by run's
	// deferred cleanup. Later signals are absorbed so the cleanup is not cut short.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	var progress io.Writer = os.Stderr
	if o.Quiet {
		progress = nil
	}
	r, err := run(ctx, o, progress)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	printTable(os.Stdout, r)
	if err := writeJSON(r.Options.Out, r); err != nil {
		fmt.Fprintf(os.Stderr, "bench: writing %s: %v\n", r.Options.Out, err)
		os.Exit(1)
	}
	fmt.Printf("figures written to %s\n", r.Options.Out)
	if *strict && r.missed() > 0 {
		os.Exit(3)
	}
}
