//go:build e2e

// End to end (the benchmark with the operator's binary): `make test` runs it with -tags e2e,
// `make test-fast` leaves it out.

package main

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchmarkSmoke runs the whole benchmark small (20 connections, 2 identities, 30 s
// tokens) and asserts the operator's behaviour, never its timings: every connection Ready,
// one token request per (identity, resource) per token, one discovery per environment,
// no writes at rest, and every token replaced before it expired.
func TestBenchmarkSmoke(t *testing.T) {
	o := defaultOptions()
	o.Connections, o.Identities, o.PerNamespace = 20, 2, 10
	o.TokenLifetime = 30 * time.Second
	o.Bucket, o.Settle = time.Second, time.Second
	o.ReadyTimeout, o.Timeout = 45*time.Second, 3*time.Minute
	r, table := runBenchmark(t, o)
	if got := r.PerToken.TokenRequestsPerGeneration; got != 1 {
		t.Errorf("token requests per (identity, resource) per token = %.2f, want exactly 1", got)
	}
	for _, host := range newWorld(o).EnvHosts {
		if n := r.DiscoveryByEnvironment[host]; n != 1 {
			t.Errorf("%d discovery requests to %s, want 1", n, host)
		}
	}
	rest, ok := phaseNamed(r, phaseRest)
	if !ok {
		t.Fatal("no rest phase: creation ran into the first refresh")
	}
	if rest.SecretWrites+rest.StatusWrites != 0 || rest.TokenRequests != 0 || rest.WhoAmI != 0 {
		t.Errorf("at rest: %d Secret writes, %d status writes, %d token requests, %d WhoAmI; want none",
			rest.SecretWrites, rest.StatusWrites, rest.TokenRequests, rest.WhoAmI)
	}
	// Health calls stay per (identity, environment): per pair and token, one shared WhoAmI
	// and one shared privilege check, never one per connection (5 connections per pair here).
	for _, p := range r.Phases {
		perPair := 2 * math.Max(1, p.TokenRequestsPerPairMax)
		if p.Privileges > p.WhoAmI || float64(p.HealthCallsPerPairMax) > perPair {
			t.Errorf("%s: %d privilege checks for %d WhoAmI; worst (identity, environment) made %d health calls, want <= %.0f",
				p.Name, p.Privileges, p.WhoAmI, p.HealthCallsPerPairMax, perPair)
		}
	}
	if rest.Privileges != 0 {
		t.Errorf("at rest: %d privilege checks, want none", rest.Privileges)
	}
	if r.Wave == nil {
		t.Fatal("no refresh wave measured")
	}
	if r.Wave.Refreshed != o.Connections || r.Wave.Expired != 0 {
		t.Errorf("refresh wave: %d of %d tokens replaced, %d seen expired; want all replaced, none expired",
			r.Wave.Refreshed, o.Connections, r.Wave.Expired)
	}
	if wave, _ := phaseNamed(r, phaseWave); wave.TokenRequestsPerPairMax > 1 {
		t.Errorf("refresh wave: %.2f token requests for the worst (identity, resource), want at most 1",
			wave.TokenRequestsPerPairMax)
	}
	if pt := r.PerToken; pt.SecretWritesRefreshMax > 1 || pt.StatusWritesRefreshMax > 1 {
		t.Errorf("per refresh: up to %d Secret writes and %d status writes for one connection, want at most 1 each",
			pt.SecretWritesRefreshMax, pt.StatusWritesRefreshMax)
	}
	// With 20 samples a kind's CPU is near /proc's 10 ms resolution: only the sum is checked.
	if f := r.RequestCosts; f == nil || f.Samples != o.Connections ||
		len(f.CPUMsPerRequest) != len(requestKinds) || f.CPUMsPerConnection <= 0 {
		t.Errorf("request costs %+v, want each request kind measured %d times", f, o.Connections)
	}
	if s := table; !strings.Contains(s, "PASS") {
		t.Errorf("the table shows no target verdicts:\n%s", s)
	}
}

func phaseNamed(r *report, name string) (phaseFigures, bool) {
	for _, p := range r.Phases {
		if p.Name == name {
			return p, true
		}
	}
	return phaseFigures{}, false
}

// TestBenchmarkShardedSmoke runs the benchmark with two operator processes (the chart's
// shards: 2) over 40 connections of 4 identities and asserts that sharding keeps the
// figures: every connection Ready, reconciled by exactly one process, no identity split,
// one token request per (identity, resource) per token across the fleet, no writes at rest,
// every token replaced in the wave, each process's memory and CPU measured, and the labels
// the ones `d365-operator shard assign` gives.
func TestBenchmarkShardedSmoke(t *testing.T) {
	o := defaultOptions()
	o.Connections, o.Identities, o.PerNamespace, o.Shards = 40, 4, 20, 2
	o.TokenLifetime = 30 * time.Second
	o.Bucket, o.Settle = time.Second, time.Second
	o.ReadyTimeout, o.Timeout = 45*time.Second, 3*time.Minute
	o.RequestCosts = false
	r, table := runBenchmark(t, o)
	f := r.Shards
	if f == nil || len(f.Processes) != 2 {
		t.Fatalf("shard figures %+v, want two processes", f)
	}
	total := 0
	for _, p := range f.Processes {
		if p.Reconciled == 0 || p.PeakRSSMiB <= 0 || p.CPUSeconds <= 0 {
			t.Errorf("%s: %d connections, %.1f MiB, %.2f s CPU; want each measured and busy",
				p.Name, p.Reconciled, p.PeakRSSMiB, p.CPUSeconds)
		}
		total += p.Reconciled
	}
	if total != o.Connections || f.ReconciledByTwo != 0 || f.ReconciledByNone != 0 || f.IdentitiesSplit != 0 {
		t.Errorf("split: %d reconciled in all, %d by two, %d by none, %d identities split; want %d, 0, 0, 0",
			total, f.ReconciledByTwo, f.ReconciledByNone, f.IdentitiesSplit, o.Connections)
	}
	if f.AssignWouldRelabel != 0 {
		t.Errorf("shard assign would relabel %d connections", f.AssignWouldRelabel)
	}
	if got := r.PerToken.TokenRequestsPerGeneration; got != 1 {
		t.Errorf("token requests per (identity, resource) per token = %.2f across shards, want exactly 1", got)
	}
	rest, ok := phaseNamed(r, phaseRest)
	if !ok {
		t.Fatal("no rest phase: creation ran into the first refresh")
	}
	if rest.SecretWrites+rest.StatusWrites != 0 || rest.TokenRequests != 0 {
		t.Errorf("at rest: %d Secret writes, %d status writes, %d token requests; want none",
			rest.SecretWrites, rest.StatusWrites, rest.TokenRequests)
	}
	if r.Wave == nil || r.Wave.Refreshed != o.Connections || r.Wave.Expired != 0 {
		t.Fatalf("refresh wave %+v: want all replaced, none expired", r.Wave)
	}
	if wave, _ := phaseNamed(r, phaseWave); wave.TokenRequestsPerPairMax > 1 {
		t.Errorf("refresh wave: %.2f token requests for the worst (identity, resource), want at most 1",
			wave.TokenRequestsPerPairMax)
	}
	if s := table; !strings.Contains(s, "operator-1 peak RSS MiB") || strings.Contains(s, "MISS") {
		t.Errorf("the table lacks per-process rows or misses a target:\n%s", s)
	}
}

// runBenchmark runs the benchmark with o, logs its progress and table, and fails the test
// unless every connection became Ready. It returns the report and the printed table.
func runBenchmark(t *testing.T, o options) (*report, string) {
	t.Helper()
	o.Out = filepath.Join(t.TempDir(), "bench.json")
	var progress bytes.Buffer
	r, err := run(context.Background(), o, &progress)
	t.Log(progress.String())
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	printTable(&table, r)
	t.Log(table.String())
	if r.Ready.Ready != o.Connections {
		t.Fatalf("%d of %d connections Ready", r.Ready.Ready, o.Connections)
	}
	return r, table.String()
}
