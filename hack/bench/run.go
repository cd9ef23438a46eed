package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/d365-operator/d365-operator/internal/simulator"
	"github.com/d365-operator/d365-operator/internal/testenv"
)

// bench is one run: what it started (stopped again by close) and what it observed.
type bench struct {
	o        options
	w        world
	progress io.Writer
	root     string
	tmp      string

	env    *testenv.Env
	sim    *simulator.Server
	client client.WithWatch
	// ops are the operator processes, one per shard (ops[0] is the default shard).
	ops  []*operatorProcess
	args []string // the flags shared by every shard
	// metrics are the operators' metrics URLs, none when off.
	metrics  []string
	tracker  *tracker
	sampler  *sampler
	profiler *profiler

	// shards shows which process reconciled which connections (-shards > 1).
	shards *shardFigures

	phases  []phase
	scrapes map[string]sampleSet // the operator's metrics at the end of each phase ("start": before the first)
	// apiScrapes are the API server's metrics, likewise.
	apiScrapes map[string]sampleSet
	apiHTTP    *http.Client
	opHTTP     *http.Client
	started    time.Time
	// stopBackground ends the watches and the sampler.
	stopBackground context.CancelFunc
}

// phase is a named period of the run; writes and requests are attributed by time.
type phase struct {
	Name  string
	Start time.Time
	End   time.Time
}

// run performs the benchmark and returns its report. Everything it starts (control plane,
// simulator, operator, watches) is stopped before it returns, whatever happened.
func run(ctx context.Context, o options, progress io.Writer) (rep *report, err error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	// envtest and the clients log through controller-runtime; the benchmark prints its own.
	ctrllog.SetLogger(logr.Discard())
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	b := &bench{
		o: o, w: newWorld(o), progress: progress, tracker: newTracker(), sampler: newSampler(),
		scrapes: map[string]sampleSet{}, apiScrapes: map[string]sampleSet{}, opHTTP: &http.Client{}, started: time.Now(),
	}
	defer func() { err = errors.Join(err, b.close()) }()
	bg, stopBackground := context.WithCancel(ctx)
	b.stopBackground = stopBackground
	if err := b.setUp(ctx, bg); err != nil {
		return nil, err
	}
	if err := b.measure(ctx); err != nil {
		return nil, err
	}
	if o.Shards > 1 {
		if b.shards, err = b.checkShards(ctx); err != nil {
			return nil, err
		}
	}
	var costs *requestCostFigures
	if o.RequestCosts {
		var err error
		if costs, err = b.measureRequestCosts(ctx); err != nil {
			b.tracker.note("the request costs were not measured: " + err.Error())
		}
	}
	return b.report(costs), nil
}

// setUp builds and starts everything, and creates the namespaces and credential Secrets.
func (b *bench) setUp(ctx, bg context.Context) error {
	var err error
	if b.root, err = testenv.RepoRoot(); err != nil {
		return err
	}
	if b.o.Out == "" {
		b.o.Out = filepath.Join(b.root, "bench-results",
			fmt.Sprintf("bench-n%d-k%d-%s.json", b.o.Connections, b.o.Identities, b.started.Format("20060102-150405")))
	}
	if err := os.MkdirAll(filepath.Dir(b.o.Out), 0o750); err != nil {
		return err
	}
	if b.tmp, err = os.MkdirTemp("", "d365-bench-"); err != nil {
		return err
	}

	// The build and the control plane's start take about as long; do both at once.
	type built struct {
		bin string
		err error
	}
	buildDone := make(chan built, 1)
	if b.o.OperatorBinary != "" {
		buildDone <- built{bin: b.o.OperatorBinary}
	} else {
		b.logf("Building the operator (go build ./cmd)")
		go func() {
			bin, err := buildOperator(ctx, b.root, b.tmp, b.o.Pprof)
			buildDone <- built{bin, err}
		}()
	}
	b.logf("Starting the control plane (kube-apiserver, etcd)")
	b.env, err = testenv.Start()
	build := <-buildDone
	if err != nil {
		return err
	}
	if build.err != nil {
		return build.err
	}
	bin := build.bin
	for name, pid := range childProcesses() {
		b.sampler.add(name, pid)
	}
	b.sampler.add("bench", os.Getpid())
	go b.sampler.run(bg, 250*time.Millisecond)

	if b.sim, err = simulator.Start(b.w.simulatorConfig(b.o.TokenLifetime)); err != nil {
		return fmt.Errorf("starting the simulator: %w", err)
	}
	cfg := rest.CopyConfig(b.env.Config)
	cfg.QPS, cfg.Burst = 5000, 10000 // the benchmark's own requests must not be its bottleneck
	if b.client, err = client.NewWithWatch(cfg, client.Options{Scheme: b.env.Scheme}); err != nil {
		return err
	}
	if b.apiHTTP, err = rest.HTTPClientFor(cfg); err != nil {
		return err
	}
	b.logf("Creating %d namespaces and their credential Secrets (%d identities, %d environments)",
		b.o.namespaces(), b.o.Identities, b.o.Environments)
	if err := createCredentials(ctx, b.client, b.o, b.w); err != nil {
		return err
	}
	if err := startWatches(bg, b.client, b.tracker); err != nil {
		return err
	}
	return b.startOperator(ctx, bin)
}

// The operator's ServiceAccount, named as `make deploy` names it.
const (
	operatorNamespace      = "d365-operator-system"
	operatorServiceAccount = "d365-operator-controller-manager"
)

// startOperator runs the operator against the control plane and the simulator.
func (b *bench) startOperator(ctx context.Context, bin string) error {
	caFile := filepath.Join(b.tmp, "simulator-ca.pem")
	if err := os.WriteFile(caFile, b.sim.CACertPEM(), 0o600); err != nil {
		return err
	}
	// The operator signs in as an installation signs it in: its ServiceAccount, bound to the
	// generated ClusterRole. Its requests then cost the API server what they cost in a
	// cluster (RBAC, a cached token review), not what system:masters with a client
	// certificate verified on every request costs.
	kubeconfig, err := b.env.OperatorServiceAccountKubeconfig(ctx, operatorNamespace, operatorServiceAccount,
		b.o.Timeout+time.Hour)
	if err != nil {
		return err
	}
	kubeconfigFile := filepath.Join(b.tmp, "operator.kubeconfig")
	if err := os.WriteFile(kubeconfigFile, kubeconfig, 0o600); err != nil {
		return err
	}
	b.args = []string{
		"--kubeconfig=" + kubeconfigFile,
		"--health-probe-bind-address=0",
		fmt.Sprintf("--kube-api-qps=%g", b.o.KubeAPIQPS),
		fmt.Sprintf("--kube-api-burst=%d", b.o.KubeAPIBurst),
		fmt.Sprintf("--concurrency=%d", b.o.Concurrency),
	}
	if !b.o.Metrics {
		b.args = append(b.args, "--metrics-bind-address=0")
	}
	hosts := make([]string, 0, len(b.sim.HostAliases()))
	for hostPort, addr := range b.sim.HostAliases() {
		hosts = append(hosts, "--host-alias="+hostPort+"="+addr)
	}
	sort.Strings(hosts)
	b.args = append(b.args, hosts...)

	env := append(os.Environ(), "SSL_CERT_FILE="+caFile, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	prefix := strings.TrimSuffix(b.o.Out, ".json")
	if b.o.Pprof {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return err
		}
		env = append(env, pprofAddrEnv+"="+addr)
		b.profiler = &profiler{addr: addr, prefix: prefix,
			apiHTTP: b.apiHTTP, apiURL: strings.TrimSuffix(b.env.Config.Host, "/")}
	}
	return b.startShards(ctx, bin, env, prefix)
}

// close stops the operator, the simulator and the control plane, and removes the
// temporary files. It runs on every exit path of run.
func (b *bench) close() error {
	var errs []error
	if b.stopBackground != nil {
		b.stopBackground()
	}
	errs = append(errs, b.stopOperators())
	if b.sim != nil {
		b.sim.Close()
	}
	if b.env != nil {
		errs = append(errs, b.env.Stop())
	}
	if b.tmp != "" {
		errs = append(errs, os.RemoveAll(b.tmp))
	}
	return errors.Join(errs...)
}

func (b *bench) logf(format string, args ...any) {
	if b.progress != nil {
		_, _ = fmt.Fprintf(b.progress, "bench %6.1fs  %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
	}
}

// freeLoopbackAddr returns a loopback address with a port free at the time of the call.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}
