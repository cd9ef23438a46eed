package main

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// options are the benchmark's flags. Every figure in the report depends on them, so the
// JSON output repeats them.
type options struct {
	// Connections is N, the number of D365Connections.
	Connections int `json:"connections"`
	// Identities is K, the number of app registrations (client id + secret) they share.
	Identities int `json:"identities"`
	// Environments is the number of Dataverse environments the connections spread over.
	Environments int `json:"environments"`
	// PerNamespace is how many connections share a namespace.
	PerNamespace int `json:"perNamespace"`
	// TokenLifetime is the simulated access-token lifetime; short, so that a refresh wave
	// happens within the run.
	TokenLifetime time.Duration `json:"tokenLifetime"`
	// HealthInterval sets spec.healthCheck.interval; zero leaves the operator's default (5m).
	HealthInterval time.Duration `json:"healthInterval,omitempty"`
	// Bucket is the width of the refresh-spread histogram's buckets.
	Bucket time.Duration `json:"bucket"`
	// Settle is how long after the last expected write a phase stays open, to catch
	// trailing writes.
	Settle time.Duration `json:"settle"`
	// ReadyTimeout bounds the wait for all connections to become Ready.
	ReadyTimeout time.Duration `json:"readyTimeout"`
	// Timeout bounds the whole run.
	Timeout time.Duration `json:"timeout"`
	// CreateWorkers is the benchmark's own parallelism when creating objects.
	CreateWorkers int `json:"createWorkers"`
	// SkipWave stops after the rest phase (no refresh wave).
	SkipWave bool `json:"skipWave,omitempty"`
	// RequestCosts measures, after the run, what the control plane spends on each request
	// a connection cannot do without.
	RequestCosts bool `json:"requestCosts"`

	// Shards is how many operator processes share the connections (sharding by the
	// d365.operators.dev/shard label, each with its --watch-label-selector).
	Shards int `json:"shards"`

	// Operator flags.
	KubeAPIQPS   float64 `json:"kubeAPIQPS"`
	KubeAPIBurst int     `json:"kubeAPIBurst"`
	Concurrency  int     `json:"concurrency"`
	// Metrics serves the operator's metrics on a loopback port (insecure) and scrapes them
	// at each phase boundary.
	Metrics bool `json:"metrics"`
	// Pprof builds the operator with a loopback pprof endpoint (hack-only overlay) and saves
	// CPU and heap profiles of the creation and refresh phases.
	Pprof bool `json:"pprof,omitempty"`
	// OperatorBinary skips the build and runs this binary instead.
	OperatorBinary string `json:"operatorBinary,omitempty"`

	// Out is the JSON report's path; the operator's log and profiles go next to it.
	Out string `json:"-"`
	// Quiet suppresses progress lines (the table is still printed).
	Quiet bool `json:"-"`
}

// defaultOptions are the figures `make bench` runs with.
func defaultOptions() options {
	return options{
		Connections:   1000,
		Identities:    20,
		Environments:  2,
		PerNamespace:  100,
		Bucket:        10 * time.Second,
		Settle:        3 * time.Second,
		ReadyTimeout:  5 * time.Minute,
		Timeout:       20 * time.Minute,
		CreateWorkers: 16,
		Shards:        1,
		KubeAPIQPS:    500,
		KubeAPIBurst:  1000,
		Concurrency:   50,
		Metrics:       true,
		RequestCosts:  true,
	}
}

// bindFlags registers the flags on fs, with o's values as defaults.
func (o *options) bindFlags(fs *flag.FlagSet) {
	fs.IntVar(&o.Connections, "n", o.Connections, "number of D365Connections (N)")
	fs.IntVar(&o.Identities, "k", o.Identities, "number of identities (app registrations) the connections share (K)")
	fs.IntVar(&o.Environments, "envs", o.Environments, "number of Dataverse environments the connections spread over")
	fs.IntVar(&o.PerNamespace, "per-namespace", o.PerNamespace, "connections per namespace")
	fs.DurationVar(&o.TokenLifetime, "token-lifetime", o.TokenLifetime,
		"simulated token lifetime; the refresh wave comes at 0.4-0.5 of it, so creation must take "+
			"well under 0.4 of it (0: 90ms per connection, at least 4m)")
	fs.DurationVar(&o.HealthInterval, "health-interval", o.HealthInterval,
		"spec.healthCheck.interval of every connection (0: the operator's default, 5m, "+
			"unless half the token lifetime reaches 4m: then the lifetime)")
	fs.DurationVar(&o.Bucket, "bucket", o.Bucket, "width of the refresh-spread histogram's buckets")
	fs.DurationVar(&o.Settle, "settle", o.Settle, "how long a phase stays open after its last expected write")
	fs.DurationVar(&o.ReadyTimeout, "ready-timeout", o.ReadyTimeout,
		"give up waiting for all connections to become Ready after this")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "bound on the whole run")
	fs.IntVar(&o.CreateWorkers, "create-workers", o.CreateWorkers, "parallel creates by the benchmark itself")
	fs.BoolVar(&o.SkipWave, "skip-wave", o.SkipWave, "stop after the rest phase, without waiting for the refresh wave")
	fs.BoolVar(&o.RequestCosts, "request-costs", o.RequestCosts,
		"after the run, measure the control plane's CPU for the requests a connection cannot avoid, "+
			"and the least time they allow")
	fs.IntVar(&o.Shards, "shards", o.Shards,
		"operator processes sharing the connections by the d365.operators.dev/shard label (each identity on one)")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "the operator's --kube-api-qps")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "the operator's --kube-api-burst")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "the operator's --concurrency")
	fs.BoolVar(&o.Metrics, "metrics", o.Metrics,
		"serve the operator's metrics on loopback and scrape them at each phase boundary")
	fs.BoolVar(&o.Pprof, "pprof", o.Pprof,
		"build the operator with a loopback pprof endpoint and save CPU and heap profiles")
	fs.StringVar(&o.OperatorBinary, "operator-binary", o.OperatorBinary,
		"run this operator binary instead of building ./cmd")
	fs.StringVar(&o.Out, "out", o.Out, "JSON report path (default bench-results/bench-n<N>-k<K>-<time>.json)")
	fs.BoolVar(&o.Quiet, "quiet", o.Quiet, "print only the final table")
}

// validate rejects option combinations the benchmark cannot run.
func (o *options) validate() error {
	o.resolveTokenLifetime()
	var errs []error
	if o.Connections < 1 {
		errs = append(errs, errors.New("-n must be at least 1"))
	}
	if o.Identities < 1 || o.Identities > 10000 {
		errs = append(errs, errors.New("-k must be between 1 and 10000"))
	}
	if o.Environments < 1 || o.Environments > 100 {
		errs = append(errs, errors.New("-envs must be between 1 and 100"))
	}
	if o.PerNamespace < 1 {
		errs = append(errs, errors.New("-per-namespace must be at least 1"))
	}
	if o.TokenLifetime < 20*time.Second {
		errs = append(errs, errors.New("-token-lifetime must be at least 20s"))
	}
	if o.HealthInterval != 0 && o.HealthInterval < 30*time.Second {
		errs = append(errs, errors.New("-health-interval must be 0 or at least 30s (the CRD's minimum)"))
	}
	if o.Bucket <= 0 || o.Settle < 0 || o.ReadyTimeout <= 0 || o.Timeout <= 0 {
		errs = append(errs, errors.New("-bucket, -ready-timeout and -timeout must be positive, -settle not negative"))
	}
	if o.CreateWorkers < 1 || o.Concurrency < 1 || o.KubeAPIQPS <= 0 || o.KubeAPIBurst < 1 {
		errs = append(errs, errors.New("-create-workers, -concurrency, -kube-api-qps and -kube-api-burst must be positive"))
	}
	if o.Shards < 1 || o.Shards > 16 {
		errs = append(errs, errors.New("-shards must be between 1 and 16"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid flags: %w", errors.Join(errs...))
	}
	return nil
}

// operatorHealthInterval is the operator's default spec.healthCheck.interval.
const operatorHealthInterval = 5 * time.Minute

// healthInterval is the connections' WhoAmI interval.
func (o *options) healthInterval() time.Duration {
	if o.HealthInterval > 0 {
		return o.HealthInterval
	}
	return operatorHealthInterval
}

// resolveTokenLifetime picks the token lifetime when -token-lifetime is 0: long enough
// that creating N connections (about 35 a second on a busy 2-core machine) ends before the
// first refresh (at 0.4 of the lifetime), at least 4 minutes: 90 ms per connection, so
// 15 minutes for 10,000. When half the lifetime reaches the health interval, periodic
// health checks would land in the rest phase and the wave, so an unset -health-interval
// then becomes the lifetime (the wave's own WhoAmI calls still happen).
func (o *options) resolveTokenLifetime() {
	if o.TokenLifetime == 0 {
		o.TokenLifetime = max(4*time.Minute, (time.Duration(o.Connections) * 90 * time.Millisecond).Round(time.Minute))
	}
	if o.HealthInterval == 0 && o.TokenLifetime/2 >= operatorHealthInterval-time.Minute {
		o.HealthInterval = o.TokenLifetime
	}
}

// namespaces is how many namespaces the connections spread over.
func (o *options) namespaces() int {
	return (o.Connections + o.PerNamespace - 1) / o.PerNamespace
}
