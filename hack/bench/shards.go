package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/d365-operator/d365-operator/internal/shard"
)

// With -shards N the benchmark runs N operator processes over the one control plane, as
// the chart's `shards: N` does: process i runs with --watch-label-selector for shard i, and
// every connection carries the label `d365-operator shard assign` gives its client ID. The
// figures then hold for the fleet (token requests, writes and Ready times are counted at
// the simulator and the API server, whoever sent them), and checkShards proves the split:
// every connection reconciled by exactly one process, no identity split across processes.

// shardFigures are the sharded run's own figures.
type shardFigures struct {
	Shards    int            `json:"shards"`
	Processes []shardProcess `json:"processes"`
	// ReconciledByTwo counts connections more than one process reconciled (wants 0).
	ReconciledByTwo int `json:"reconciledByTwo"`
	// ReconciledByNone counts connections no process reconciled (wants 0).
	ReconciledByNone int `json:"reconciledByNone"`
	// IdentitiesSplit counts identities whose connections more than one process reconciled:
	// each would then request its own token (wants 0).
	IdentitiesSplit int `json:"identitiesSplit"`
	// AssignWouldRelabel is how many connections `d365-operator shard assign` (dry run)
	// would move: the labels the benchmark gave are the command's (wants 0).
	AssignWouldRelabel int `json:"assignWouldRelabel"`
}

// shardProcess is one operator process: its selector, how many connections it reconciled,
// and its memory and CPU over the run.
type shardProcess struct {
	Name       string  `json:"name"`
	Selector   string  `json:"selector"`
	Reconciled int     `json:"reconciled"`
	PeakRSSMiB float64 `json:"peakRSSMiB"`
	CPUSeconds float64 `json:"cpuSeconds"`
}

// processName is the sampler's name of operator process i.
func (o *options) processName(i int) string {
	if o.Shards <= 1 {
		return "operator"
	}
	return fmt.Sprintf("operator-%d", i)
}

// startShards starts one operator process per shard and waits until all run their workers.
func (b *bench) startShards(ctx context.Context, bin string, env []string, prefix string) error {
	for i := range b.o.Shards {
		args := append([]string(nil), b.args...)
		if b.o.Metrics {
			addr, err := freeLoopbackAddr()
			if err != nil {
				return err
			}
			args = append(args, "--metrics-bind-address="+addr, "--metrics-secure=false")
			b.metrics = append(b.metrics, "http://"+addr+"/metrics")
		}
		logPath := prefix + ".operator.log"
		if b.o.Shards > 1 {
			args = append(args, "--watch-label-selector="+shard.Selector(i, b.o.Shards))
			logPath = fmt.Sprintf("%s.operator-%d.log", prefix, i)
		}
		if i > 0 { // one pprof endpoint: the first process's
			env = withoutEnv(env, pprofAddrEnv)
		}
		b.logf("Starting %s (log: %s)", b.o.processName(i), logPath)
		op, err := startOperator(bin, args, env, logPath)
		if err != nil {
			return err
		}
		b.ops = append(b.ops, op)
		b.sampler.add(b.o.processName(i), op.Pid())
	}
	for _, op := range b.ops {
		if err := op.waitReady(ctx, 2*time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// withoutEnv drops name from an environment list.
func withoutEnv(env []string, name string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// alive returns an error when any operator process has exited.
func (b *bench) alive() error {
	for _, op := range b.ops {
		if err := op.alive(); err != nil {
			return err
		}
	}
	return nil
}

// logTails are the operators' last log lines.
func (b *bench) logTails() string {
	parts := make([]string, 0, len(b.ops))
	for i, op := range b.ops {
		parts = append(parts, fmt.Sprintf("--- %s:\n%s", b.o.processName(i), op.logTail()))
	}
	return strings.Join(parts, "\n")
}

func (b *bench) logPaths() []string {
	paths := make([]string, 0, len(b.ops))
	for _, op := range b.ops {
		paths = append(paths, op.logPath)
	}
	return paths
}

// stopOperators stops every operator process.
func (b *bench) stopOperators() error {
	errs := make([]error, 0, len(b.ops))
	for _, op := range b.ops {
		errs = append(errs, op.stop(10*time.Second))
	}
	return errors.Join(errs...)
}

// scrapeOperators reads every operator's metrics and adds them up: the fleet's counters.
func (b *bench) scrapeOperators(ctx context.Context) sampleSet {
	if len(b.metrics) == 0 {
		return nil
	}
	total := sampleSet{}
	for _, url := range b.metrics {
		for k, v := range scrapeMetrics(ctx, b.opHTTP, url) {
			total[k] += v
		}
	}
	return total
}

// checkShards reads, from each process's metrics, the connections it reconciled (each has
// its d365_connection_token_expiry_timestamp_seconds series in the process that wrote its
// status), and asks `shard assign` (dry run) whether it would move any connection.
func (b *bench) checkShards(ctx context.Context) (*shardFigures, error) {
	if len(b.metrics) != len(b.ops) {
		return nil, errors.New("-shards needs -metrics: the split is read from each process's metrics")
	}
	f := &shardFigures{Shards: b.o.Shards}
	owners := map[string][]int{}
	for i, url := range b.metrics {
		n := 0
		for series := range scrapeMetrics(ctx, b.opHTTP, url) {
			name, labels := splitSeries(series)
			if name != "d365_connection_token_expiry_timestamp_seconds" {
				continue
			}
			key := labels["namespace"] + "/" + labels["name"]
			owners[key] = append(owners[key], i)
			n++
		}
		f.Processes = append(f.Processes, shardProcess{
			Name: b.o.processName(i), Selector: shard.Selector(i, b.o.Shards), Reconciled: n,
		})
	}
	processesOf := map[int]map[int]bool{} // identity -> processes
	for i := range b.o.Connections {
		ns, name := b.o.connectionKey(i)
		got := owners[ns+"/"+name]
		switch {
		case len(got) == 0:
			f.ReconciledByNone++
		case len(got) > 1:
			f.ReconciledByTwo++
		}
		id := b.w.assignment(i).Identity
		if processesOf[id] == nil {
			processesOf[id] = map[int]bool{}
		}
		for _, p := range got {
			processesOf[id][p] = true
		}
	}
	for _, ps := range processesOf {
		if len(ps) > 1 {
			f.IdentitiesSplit++
		}
	}
	assigned, err := shard.Assign(ctx, b.client, "", b.o.Shards, true)
	if err != nil {
		return nil, fmt.Errorf("shard assign --dry-run: %w", err)
	}
	for _, a := range assigned {
		if a.Changed {
			f.AssignWouldRelabel++
		}
	}
	b.logf("Shards: %s; reconciled by two %d, by none %d; identities split %d; shard assign would relabel %d",
		f.perProcess(), f.ReconciledByTwo, f.ReconciledByNone, f.IdentitiesSplit, f.AssignWouldRelabel)
	return f, nil
}

// fillUsage adds each process's peak RSS and CPU over the phases.
func (f *shardFigures) fillUsage(phases []phaseFigures) {
	for i := range f.Processes {
		p := &f.Processes[i]
		for _, ph := range phases {
			u := ph.Processes[p.Name]
			p.PeakRSSMiB = math.Max(p.PeakRSSMiB, math.Max(u.PeakRSSMiB, u.HWMMiB))
			p.CPUSeconds += u.CPUSeconds
		}
	}
}

func (f *shardFigures) perProcess() string {
	parts := make([]string, 0, len(f.Processes))
	for _, p := range f.Processes {
		parts = append(parts, fmt.Sprintf("%s (%s) %d connections", p.Name, p.Selector, p.Reconciled))
	}
	return strings.Join(parts, ", ")
}

// operatorNames are the operator processes' names in the phases, sorted.
func operatorNames(r *report) []string {
	seen := map[string]bool{}
	for _, p := range r.Phases {
		for name := range p.Processes {
			if strings.HasPrefix(name, "operator") {
				seen[name] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		names = []string{"operator"}
	}
	return names
}
