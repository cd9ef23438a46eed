package main

import (
	"os"
	"runtime"
	"strings"
	"time"
)

// report is everything the benchmark measured; printed as a table and written as JSON.
type report struct {
	Options  options        `json:"options"`
	Operator operatorInfo   `json:"operator"`
	Machine  machineInfo    `json:"machine"`
	Ready    readyFigures   `json:"ready"`
	Phases   []phaseFigures `json:"phases"`
	// DiscoveryByEnvironment counts challenge probes per environment over the whole run.
	DiscoveryByEnvironment map[string]int `json:"discoveryByEnvironment"`
	// PerToken counts writes and token requests per token generation, over the whole run.
	PerToken generationFigures `json:"perToken"`
	Wave     *waveFigures      `json:"wave,omitempty"`
	// RequestCosts are the control plane's CPU per unavoidable request (-request-costs).
	RequestCosts *requestCostFigures `json:"requestCosts,omitempty"`
	// Shards (with -shards > 1) shows which process reconciled which connections.
	Shards  *shardFigures `json:"shards,omitempty"`
	Targets []target      `json:"targets"`
	Notes   []string      `json:"notes,omitempty"`
	Files   []string      `json:"files,omitempty"`
}

type operatorInfo struct {
	Args []string `json:"args"`
}

type machineInfo struct {
	CPUs      int       `json:"cpus"`
	GoVersion string    `json:"goVersion"`
	Kernel    string    `json:"kernel,omitempty"`
	Started   time.Time `json:"started"`
}

// readyFigures: time from a connection's create to the first watch event showing it Ready.
type readyFigures struct {
	Ready int `json:"ready"`
	Of    int `json:"of"`
	// CreateSeconds is how long the benchmark took to send all creates.
	CreateSeconds float64 `json:"createSeconds"`
	// AllReadySeconds is from the first create to the last connection Ready.
	AllReadySeconds float64 `json:"allReadySeconds"`
	P50Seconds      float64 `json:"p50Seconds"`
	P90Seconds      float64 `json:"p90Seconds"`
	P99Seconds      float64 `json:"p99Seconds"`
	MaxSeconds      float64 `json:"maxSeconds"`
	// ControlPlaneSeconds is kube-apiserver's and etcd's CPU in the creation phase over all
	// the machine's CPUs: how long the control plane alone kept every CPU busy, the least
	// the run could have taken had the operator, the watches and the simulator been free.
	ControlPlaneSeconds float64 `json:"controlPlaneSeconds"`
}

// phaseFigures are one phase's writes, requests and resource use.
type phaseFigures struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	// Writes seen by the watches; per connection: the mean and the most any one had.
	SecretWrites           int     `json:"secretWrites"`
	StatusWrites           int     `json:"statusWrites"`
	SecretWritesPerConn    float64 `json:"secretWritesPerConnection"`
	StatusWritesPerConn    float64 `json:"statusWritesPerConnection"`
	SecretWritesPerConnMax int     `json:"secretWritesPerConnectionMax"`
	StatusWritesPerConnMax int     `json:"statusWritesPerConnectionMax"`
	// Token requests; per (identity, resource) pair in use: the mean and the worst identity.
	TokenRequests           int     `json:"tokenRequests"`
	TokenRequestsPerPair    float64 `json:"tokenRequestsPerPair"`
	TokenRequestsPerPairMax float64 `json:"tokenRequestsPerPairMax"`
	Discoveries             int     `json:"discoveries"`
	WhoAmI                  int     `json:"whoAmI"`
	WhoAmIPerConn           float64 `json:"whoAmIPerConnection"`
	// WhoAmIPerConnPerInterval (rest phase only) is WhoAmIPerConn over the phase's length
	// in health intervals: the steady-state health-check rate.
	WhoAmIPerConnPerInterval float64 `json:"whoAmIPerConnectionPerHealthInterval"`
	// Privileges counts RetrieveUserPrivileges calls; HealthCallsPerPairMax is the most
	// WhoAmI plus RetrieveUserPrivileges calls one (identity, environment) pair made.
	Privileges            int `json:"privilegeChecks"`
	HealthCallsPerPairMax int `json:"healthCallsPerPairMax"`
	EntraMetadata         int `json:"entraMetadataRequests"`
	FailedRequests        int `json:"failedRequests"`
	// RepeatedWrites describes connections written more than once in the phase.
	RepeatedWrites []string         `json:"repeatedWrites,omitempty"`
	Processes      map[string]usage `json:"processes"`
	Metrics        *phaseMetrics    `json:"operatorMetrics,omitempty"`
	// ControlPlane is the API server's own view (request and etcd latency).
	ControlPlane *controlPlaneMetrics `json:"controlPlane,omitempty"`
}

// waveFigures describe the first refresh of every token.
type waveFigures struct {
	Refreshed int `json:"refreshed"`
	Of        int `json:"of"`
	// Expired counts tokens seen expired over the whole run: replaced at or after their
	// expiry (by the replacement's issue time or by when the watch saw it), or still in
	// their Secret after expiry at the end.
	Expired int `json:"expired"`
	// MinRemainingSeconds is the least validity an old token had left when its replacement
	// was seen.
	MinRemainingSeconds float64 `json:"minRemainingSeconds"`
	// SpanSeconds is from the first refresh to the last.
	SpanSeconds float64 `json:"spanSeconds"`
	// JitterWindowSeconds is the spread the schedule aims for (a fifth of half the lifetime).
	JitterWindowSeconds float64 `json:"jitterWindowSeconds"`
	// Lag: how long after its planned time (status.nextRefreshTime) each refresh was seen.
	LagP50Seconds float64 `json:"lagP50Seconds"`
	LagP99Seconds float64 `json:"lagP99Seconds"`
	LagMaxSeconds float64 `json:"lagMaxSeconds"`
	// Histogram counts refreshes per bucket from the first refresh on.
	BucketSeconds float64 `json:"bucketSeconds"`
	Histogram     []int   `json:"histogram"`
	MaxPerBucket  int     `json:"maxPerBucket"`
	MeanPerBucket float64 `json:"meanPerBucket"`
	// BusiestShare is the busiest bucket's share of all refreshes; IdealShare what it
	// would be with refreshes spread evenly over the jitter window.
	BusiestShare float64 `json:"busiestShare"`
	IdealShare   float64 `json:"idealShare"`
}

// target is one of the targets with the measured figure.
type target struct {
	Name   string `json:"name"`
	Want   string `json:"want"`
	Figure string `json:"figure"`
	Pass   bool   `json:"pass"`
}

// report computes the figures from what the run observed, and the request costs if
// measured.
func (b *bench) report(costs *requestCostFigures) *report {
	conns, secrets, writes, notes := b.tracker.snapshot()
	log := b.sim.Requests()
	r := &report{
		Options:      b.o,
		Operator:     operatorInfo{Args: redactArgs(b.args)},
		Machine:      machineInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Kernel: kernel(), Started: b.started},
		Notes:        notes,
		Files:        append(b.logPaths(), b.profiler.saved()...),
		RequestCosts: costs,
	}
	r.Ready = readyFiguresOf(conns, b.o.Connections, b.phases)
	pairs := pairsPerClient(b.o, b.w)
	for _, p := range b.phases {
		f := b.phaseFiguresOf(p, writes, log, pairs)
		if p.Name == phaseCreation {
			cpu := f.Processes["kube-apiserver"].CPUSeconds + f.Processes["etcd"].CPUSeconds
			r.Ready.ControlPlaneSeconds = cpu / float64(r.Machine.CPUs)
		}
		r.Phases = append(r.Phases, f)
	}
	if len(b.phases) > 1 {
		all := countRequests(log, b.w.EnvHosts, b.phases[1].Start, b.phases[len(b.phases)-1].End)
		r.DiscoveryByEnvironment = all.DiscoveryByEnv
		r.PerToken = generationFiguresOf(b.o, b.w, secrets, writes, all.TokenByClient)
	}
	if p, ok := b.phase(phaseWave); ok {
		r.Wave = waveFiguresOf(b.o, conns, secrets, p)
	}
	if len(log) >= 100_000 {
		r.Notes = append(r.Notes,
			"the simulator's request log is full (100,000 entries): request counts of early phases are low")
	}
	if b.shards != nil {
		b.shards.fillUsage(r.Phases)
		r.Shards = b.shards
	}
	r.Targets = targetsOf(b.o, r)
	return r
}

func (b *bench) phase(name string) (phase, bool) {
	for _, p := range b.phases {
		if p.Name == name {
			return p, true
		}
	}
	return phase{}, false
}

// previousBoundary names the scrape at the start of phase name (the end of the one before).
func (b *bench) previousBoundary(name string) string {
	prev := "start"
	for _, p := range b.phases {
		if p.Name == name {
			return prev
		}
		prev = p.Name
	}
	return ""
}

// redactArgs keeps the operator's flags but not the temporary paths and ports.
func redactArgs(args []string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "--host-alias=") || strings.HasPrefix(a, "--kubeconfig=") {
			continue
		}
		out = append(out, a)
	}
	return append(out, "--kubeconfig=<its ServiceAccount, bound to config/rbac/role.yaml>",
		"--host-alias=<each simulator host>=127.0.0.1:<port>")
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
