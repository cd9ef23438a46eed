package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/d365-operator/d365-operator/internal/simulator"
	"github.com/d365-operator/d365-operator/internal/testenv"
)

const (
	// defaultTimeout bounds the wait for Ready; the simulator answers in milliseconds, so
	// anything near it means the operator is stuck, not slow.
	defaultTimeout = 3 * time.Minute
	// demoNamespace holds the samples and their credential Secrets.
	demoNamespace = "d365-demo"
	// operatorUser is the identity the operator process signs in to the API server as. It
	// is bound to the generated manager-role only, so the demo also proves that role suffices.
	operatorUser = "d365-operator-demo"
)

// Options configure one demo run.
type Options struct {
	// Dir receives the kubeconfig, the simulator's CA, the operator binary and its log;
	// default <repository>/.demo.
	Dir string
	// Exit makes run return once every connection is Ready instead of waiting for ctx to end.
	Exit bool
	// Timeout bounds the wait for Ready; default defaultTimeout.
	Timeout time.Duration
	// Out receives everything the demo prints. It never receives a token or a secret.
	Out io.Writer

	// afterReady, when set, runs once every connection is Ready and reported, before the
	// teardown: tests use it to look at the control plane while it still runs.
	afterReady func(ctx context.Context, c client.Client) error
	// namespaced runs the operator as the Helm chart's watchNamespaces installs it: watching
	// only demoNamespace and the team namespaces, with a Role in each instead of a
	// ClusterRole, a ClusterRole for the cluster-scoped rules only, and a Role for the
	// identity's Secrets in the platform namespace.
	namespaced bool
}

// files are the paths the demo writes under Options.Dir.
type files struct {
	dir, kubeconfig, operatorKubeconfig, simulatorCA, operatorBin, operatorLog string
}

func newFiles(dir string) files {
	return files{
		dir:                dir,
		kubeconfig:         filepath.Join(dir, "kubeconfig"),
		operatorKubeconfig: filepath.Join(dir, "operator.kubeconfig"),
		simulatorCA:        filepath.Join(dir, "simulator-ca.pem"),
		operatorBin:        filepath.Join(dir, "d365-operator"),
		operatorLog:        filepath.Join(dir, "operator.log"),
	}
}

// run starts everything, applies the samples, waits for Ready and reports; with
// opts.Exit it then returns, otherwise it runs until ctx ends. Every process it started is
// stopped before it returns, whatever the path.
func run(ctx context.Context, opts Options) (err error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	if opts.Dir == "" {
		opts.Dir = filepath.Join(root, ".demo")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	// envtest logs through controller-runtime, which otherwise warns with a stack trace after
	// 30s that no logger was set; its errors reach the demo as returned errors anyway.
	logf.SetLogger(logr.Discard())
	if opts.Dir, err = filepath.Abs(opts.Dir); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return fmt.Errorf("creating %s: %w", opts.Dir, err)
	}
	// The platform-team samples are read first: the simulator must know their app.
	plat, err := loadPlatform(root)
	if err != nil {
		return err
	}
	f := newFiles(opts.Dir)
	// Progress lines: a failed write to the terminal is not worth stopping the demo for.
	say := func(format string, args ...any) { _, _ = fmt.Fprintf(opts.Out, "==> "+format+"\n", args...) }

	td := &teardown{say: say}
	defer func() { err = errors.Join(err, td.run()) }()

	// The operator compiles while the control plane starts: both take tens of seconds.
	say("Building the operator from this tree (go build -o %s ./cmd)", f.operatorBin)
	built := make(chan error, 1)
	go func() { built <- buildOperator(ctx, root, f.operatorBin) }()

	say("Starting a local control plane (kube-apiserver + etcd) with the CRDs")
	env, err := testenv.Start()
	if err != nil {
		return errors.Join(err, <-built)
	}
	td.add("Stopping the control plane", env.Stop)
	if err := env.WriteKubeconfig(f.kubeconfig); err != nil {
		return errors.Join(err, <-built)
	}
	// The file holds a client key for a control plane that is about to stop.
	td.add("Removing "+f.kubeconfig, func() error { return os.Remove(f.kubeconfig) })

	say("Starting the Entra ID + Dataverse simulator")
	world := simulator.DefaultConfig()
	plat.register(&world)
	sim, err := simulator.Start(world)
	if err != nil {
		return errors.Join(fmt.Errorf("starting the simulator: %w", err), <-built)
	}
	td.add("Stopping the simulator", func() error { sim.Close(); return nil })
	if err := os.WriteFile(f.simulatorCA, sim.CACertPEM(), 0o600); err != nil {
		return errors.Join(fmt.Errorf("writing the simulator's CA: %w", err), <-built)
	}

	if err := <-built; err != nil {
		return err
	}
	// Namespaces first: the namespaced grant puts Roles in them.
	if err := createNamespace(ctx, env.Client, demoNamespace); err != nil {
		return err
	}
	if err := plat.createNamespaces(ctx, env.Client); err != nil {
		return err
	}
	var watch []string
	if opts.namespaced {
		watch = append([]string{demoNamespace}, plat.teams()...)
	}
	if err := grantOperator(ctx, env, watch, platformNamespace, f.operatorKubeconfig); err != nil {
		return err
	}
	td.add("Removing "+f.operatorKubeconfig, func() error { return os.Remove(f.operatorKubeconfig) })
	say("Starting the operator (log: %s)", f.operatorLog)
	op, err := startOperator(ctx, f, sim.HostAliases(), watch, platformNamespace)
	if err != nil {
		return err
	}
	td.add("Stopping the operator", op.stop)

	conns, err := applySamples(ctx, env.Client, sim, root, demoNamespace, say)
	if err != nil {
		return err
	}
	teamConns, err := plat.apply(ctx, env.Client, say)
	if err != nil {
		return err
	}
	refusal, err := plat.admitLabelledTeam(ctx, env.Client, teamConns, op, opts.Timeout, say)
	if err != nil {
		return err
	}
	say("Waiting up to %s for Ready", opts.Timeout)
	if err := waitReady(ctx, env.Client, slices.Concat(conns, teamConns), op, opts.Timeout, f.operatorLog); err != nil {
		return err
	}
	teams := int32(len(teamConns)) //nolint:gosec // two
	id, err := waitIdentity(ctx, env.Client, plat.identity.Name, teams, op, opts.Timeout)
	if err != nil {
		return fmt.Errorf("%w; see the operator's log: %s", err, f.operatorLog)
	}

	if err := report(ctx, opts.Out, env.Client, f, conns); err != nil {
		return err
	}
	shared := identityReport{plat: plat, identity: id, conns: teamConns, refusal: refusal,
		tokenRequests: plat.tokenRequests(sim)}
	if err := shared.print(ctx, opts.Out, env.Client, f.kubeconfig); err != nil {
		return err
	}
	if opts.afterReady != nil {
		if err := opts.afterReady(ctx, env.Client); err != nil {
			return err
		}
	}
	if opts.Exit {
		say("Ready; DEMO_EXIT is set, so stopping now")
		return nil
	}
	if err := printHints(opts.Out, f, conns, plat.identity.Name); err != nil {
		return err
	}
	return waitForEnd(ctx, op, f.operatorLog)
}

// waitForEnd blocks until ctx ends (Ctrl-C) or the operator dies on its own.
func waitForEnd(ctx context.Context, op *operator, logPath string) error {
	select {
	case <-ctx.Done():
		return nil
	case <-op.exited:
		return fmt.Errorf("the operator exited on its own (%s); see %s", exitDescription(op.waitErr), logPath)
	}
}

// teardown runs cleanup steps in reverse order of registration, on every exit path.
type teardown struct {
	say   func(format string, args ...any)
	steps []teardownStep
}

type teardownStep struct {
	what string
	fn   func() error
}

func (t *teardown) add(what string, fn func() error) {
	t.steps = append(t.steps, teardownStep{what, fn})
}

func (t *teardown) run() error {
	var errs []error
	for _, s := range slices.Backward(t.steps) {
		t.say("%s", s.what)
		if err := s.fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.what, err))
		}
	}
	t.steps = nil
	return errors.Join(errs...)
}
