package main

import (
	"fmt"
	"math"
)

// The targets, for a 2-core machine with the control plane on it:
//   all Ready within 10 s of creation at 1,000 connections, 60 s at 10,000;
//   operator RSS under 100 MiB at 1,000, under 300 MiB at 10,000;
//   at most one token request per (identity, resource) per refresh; one discovery per
//   environment; at most one Secret write and one status write per connection per refresh;
//   no writes at rest; zero tokens seen expired; refreshes spread.
// Between and beyond the two sizes the time and memory budgets are interpolated linearly.

// readyBudget is the all-Ready target for n connections.
func readyBudget(n int) float64 { return scaled(n, 10, 60) }

// rssBudgetMiB is the operator RSS target for n connections.
func rssBudgetMiB(n int) float64 { return scaled(n, 100, 300) }

// scaled is at1k up to 1,000 connections, at10k at 10,000, linear in between and beyond.
func scaled(n int, at1k, at10k float64) float64 {
	if n <= 1000 {
		return at1k
	}
	return at1k + (at10k-at1k)*float64(n-1000)/9000
}

// spreadFactor: the busiest bucket may hold this many times its share under an even spread.
const spreadFactor = 2

func targetsOf(o options, r *report) []target {
	var ts []target
	add := func(name, want, figure string, pass bool) {
		ts = append(ts, target{Name: name, Want: want, Figure: figure, Pass: pass})
	}
	byName := map[string]phaseFigures{}
	for _, p := range r.Phases {
		byName[p.Name] = p
	}
	creation, rest := byName[phaseCreation], byName[phaseRest]
	_, restOK := byName[phaseRest]

	budget := readyBudget(o.Connections)
	allReady := r.Ready.Ready == r.Ready.Of
	figure := fmt.Sprintf("%.2f s", r.Ready.AllReadySeconds)
	if r.Ready.ControlPlaneSeconds > 0 {
		figure += fmt.Sprintf(" (control plane alone %.1f s)", r.Ready.ControlPlaneSeconds)
	}
	if !allReady {
		figure = fmt.Sprintf("%d of %d Ready", r.Ready.Ready, r.Ready.Of)
	}
	add("all connections Ready after the first create", fmt.Sprintf("<= %.0f s", budget), figure,
		allReady && r.Ready.AllReadySeconds <= budget)

	// Each process against the budget of its share of the connections.
	var peak float64
	for _, p := range r.Phases {
		for _, name := range operatorNames(r) {
			u := p.Processes[name]
			peak = math.Max(peak, math.Max(u.PeakRSSMiB, u.HWMMiB))
		}
	}
	share := (o.Connections + o.Shards - 1) / o.Shards
	if f := r.Shards; f != nil {
		share = 0
		for _, p := range f.Processes {
			share = max(share, p.Reconciled)
		}
	}
	rss := rssBudgetMiB(share)
	name := "operator peak RSS (VmHWM)"
	if o.Shards > 1 {
		name = fmt.Sprintf("largest operator process peak RSS (VmHWM; budget of %d connections)", share)
	}
	add(name, fmt.Sprintf("< %.0f MiB", rss), fmt.Sprintf("%.1f MiB", peak), peak > 0 && peak < rss)

	if f := r.Shards; f != nil {
		add("connections reconciled by two shards", "0", fmt.Sprint(f.ReconciledByTwo), f.ReconciledByTwo == 0)
		add("connections reconciled by no shard", "0", fmt.Sprint(f.ReconciledByNone), f.ReconciledByNone == 0)
		add("identities split across shards", "0", fmt.Sprint(f.IdentitiesSplit), f.IdentitiesSplit == 0)
		add("connections `shard assign` would relabel", "0", fmt.Sprint(f.AssignWouldRelabel), f.AssignWouldRelabel == 0)
	} else if o.Shards > 1 {
		add("shards checked", "yes", "no", false)
	}

	pt := r.PerToken
	add("token requests per (identity, resource) per token generation (worst identity)", "<= 1",
		fmt.Sprintf("%.2f", pt.TokenRequestsPerGeneration), pt.TokenRequestsPerGeneration <= 1 && creation.TokenRequests > 0)

	discMax := 0
	for _, host := range newWorld(o).EnvHosts {
		discMax = max(discMax, r.DiscoveryByEnvironment[host])
	}
	// Each process discovers an environment once: with shards, once per process.
	if o.Shards > 1 {
		add("discovery requests per environment (each process discovers once)", fmt.Sprintf("<= %d", o.Shards),
			fmt.Sprint(discMax), discMax <= o.Shards)
	} else {
		add("discovery requests per environment", "<= 1", fmt.Sprint(discMax), discMax <= 1)
	}

	add("Secret writes per connection per token (first token; refreshes)", "<= 1",
		fmt.Sprintf("%d; %d", pt.SecretWritesFirstMax, pt.SecretWritesRefreshMax),
		max(pt.SecretWritesFirstMax, pt.SecretWritesRefreshMax) <= 1)
	add("status writes per connection per token (first token; refreshes)", "<= 1",
		fmt.Sprintf("%d; %d", pt.StatusWritesFirstMax, pt.StatusWritesRefreshMax),
		max(pt.StatusWritesFirstMax, pt.StatusWritesRefreshMax) <= 1)

	if restOK {
		n := rest.SecretWrites + rest.StatusWrites
		add(fmt.Sprintf("writes at rest (%.0f s)", rest.Seconds), "0", fmt.Sprint(n), n == 0)
	} else {
		add("writes at rest", "0", "not measured", false)
	}

	if w := r.Wave; w != nil {
		add("tokens replaced in the refresh wave", fmt.Sprintf("%d", w.Of), fmt.Sprint(w.Refreshed), w.Refreshed == w.Of)
		add("tokens seen expired", "0", fmt.Sprint(w.Expired), w.Expired == 0)
		add(fmt.Sprintf("refresh spread: busiest %gs bucket's share", w.BucketSeconds),
			fmt.Sprintf("<= %.2f (%d x even)", math.Min(1, spreadFactor*w.IdealShare), spreadFactor),
			fmt.Sprintf("%.2f (max/mean %.2f)", w.BusiestShare, w.MaxPerBucket2Mean()),
			w.Refreshed > 0 && w.BusiestShare <= math.Min(1, spreadFactor*w.IdealShare))
	} else if !o.SkipWave {
		add("refresh wave", "measured", "not measured", false)
	}
	return ts
}

// MaxPerBucket2Mean is the busiest bucket over the mean bucket.
func (w *waveFigures) MaxPerBucket2Mean() float64 {
	if w.MeanPerBucket == 0 {
		return 0
	}
	return float64(w.MaxPerBucket) / w.MeanPerBucket
}

// missed counts the targets not met.
func (r *report) missed() int {
	n := 0
	for _, t := range r.Targets {
		if !t.Pass {
			n++
		}
	}
	return n
}
