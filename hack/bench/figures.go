package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/d365-operator/d365-operator/internal/simulator"
)

func readyFiguresOf(conns map[string]connState, n int, phases []phase) readyFigures {
	f := readyFigures{Of: n}
	var first, lastCreate, lastReady time.Time
	var lat []float64
	for _, c := range conns {
		if c.created.IsZero() {
			continue
		}
		if first.IsZero() || c.created.Before(first) {
			first = c.created
		}
		if c.created.After(lastCreate) {
			lastCreate = c.created
		}
		if c.readyAt.IsZero() {
			continue
		}
		f.Ready++
		lat = append(lat, c.readyAt.Sub(c.created).Seconds())
		if c.readyAt.After(lastReady) {
			lastReady = c.readyAt
		}
	}
	for _, p := range phases {
		if p.Name == phaseCreation {
			first = p.Start
		}
	}
	if !lastCreate.IsZero() {
		f.CreateSeconds = lastCreate.Sub(first).Seconds()
	}
	if f.Ready == n && !lastReady.IsZero() {
		f.AllReadySeconds = lastReady.Sub(first).Seconds()
	}
	f.P50Seconds, f.P90Seconds = percentile(lat, 50), percentile(lat, 90)
	f.P99Seconds, f.MaxSeconds = percentile(lat, 99), percentile(lat, 100)
	return f
}

// pairsPerClient returns, per client id, how many environments its connections use: the
// (identity, resource) pairs that each need their own token.
func pairsPerClient(o options, w world) map[string]int {
	seen := map[pair]bool{}
	out := map[string]int{}
	for i := range o.Connections {
		p := w.assignment(i)
		if !seen[p] {
			seen[p] = true
			out[w.Identities[p.Identity].ClientID]++
		}
	}
	return out
}

func (b *bench) phaseFiguresOf(p phase, writes []write, log []simulator.Request, pairs map[string]int) phaseFigures {
	f := phaseFigures{Name: p.Name, Seconds: p.End.Sub(p.Start).Seconds(), Processes: map[string]usage{}}
	secretPer, statusPer := map[string]int{}, map[string]int{}
	byConn := map[string][]write{}
	for _, w := range writes {
		if w.At.Before(p.Start) || !w.At.Before(p.End) {
			continue
		}
		byConn[w.Key] = append(byConn[w.Key], w)
		if w.Kind == secretWrite {
			f.SecretWrites++
			secretPer[w.Key]++
		} else {
			f.StatusWrites++
			statusPer[w.Key]++
		}
	}
	n := float64(b.o.Connections)
	f.SecretWritesPerConn, f.StatusWritesPerConn = float64(f.SecretWrites)/n, float64(f.StatusWrites)/n
	f.SecretWritesPerConnMax, f.StatusWritesPerConnMax = maxValue(secretPer), maxValue(statusPer)
	f.RepeatedWrites = repeatedWrites(byConn, secretPer, statusPer, p.Start)

	c := countRequests(log, b.w.EnvHosts, p.Start, p.End)
	f.TokenRequests, f.Discoveries, f.WhoAmI = c.tokens(), c.discoveries(), c.WhoAmI
	f.WhoAmIPerConn = float64(c.WhoAmI) / n
	if p.Name == phaseRest && f.Seconds > 0 { // only the rest phase has no refresh in it
		f.WhoAmIPerConnPerInterval = f.WhoAmIPerConn / (f.Seconds / b.o.healthInterval().Seconds())
	}
	f.EntraMetadata, f.FailedRequests = c.EntraMetadata, c.Failed
	f.Privileges, f.HealthCallsPerPairMax = c.Privileges, maxValue(c.HealthByPair)
	totalPairs := 0
	for client, np := range pairs {
		totalPairs += np
		f.TokenRequestsPerPairMax = math.Max(f.TokenRequestsPerPairMax, float64(c.TokenByClient[client])/float64(np))
	}
	for client, v := range c.TokenByClient {
		if pairs[client] == 0 && v > 0 { // a client no connection uses: count it as a miss
			f.TokenRequestsPerPairMax = math.Max(f.TokenRequestsPerPairMax, float64(v))
		}
	}
	if totalPairs > 0 {
		f.TokenRequestsPerPair = float64(f.TokenRequests) / float64(totalPairs)
	}
	for _, name := range b.sampler.names() {
		f.Processes[name] = b.sampler.usageIn(name, p.Start, p.End)
	}
	others := f.Processes[machineName]
	for name, u := range f.Processes {
		if name != machineName {
			others.CPUSeconds -= u.CPUSeconds
			others.CPUCores -= u.CPUCores
		}
	}
	f.Processes[othersName] = usage{CPUSeconds: math.Max(0, others.CPUSeconds), CPUCores: math.Max(0, others.CPUCores)}
	prev := b.previousBoundary(p.Name)
	f.Metrics = metricsBetween(b.scrapes[prev], b.scrapes[p.Name])
	f.ControlPlane = controlPlaneBetween(b.apiScrapes[prev], b.apiScrapes[p.Name])
	return f
}

func waveFiguresOf(o options, conns map[string]connState, secrets map[string][]tokenSeen, p phase) *waveFigures {
	jitter := o.TokenLifetime / 10
	f := &waveFigures{
		Of: o.Connections, BucketSeconds: o.Bucket.Seconds(), JitterWindowSeconds: jitter.Seconds(),
		MinRemainingSeconds: math.Inf(1),
	}
	var times []time.Time
	var lags []float64
	for key, tokens := range secrets {
		for j := 1; j < len(tokens); j++ {
			prev, cur := tokens[j-1], tokens[j]
			remaining := prev.Expires.Sub(cur.At)
			f.MinRemainingSeconds = math.Min(f.MinRemainingSeconds, remaining.Seconds())
			if remaining <= 0 || !cur.Issued.Before(prev.Expires) {
				f.Expired++
			}
		}
		if n := len(tokens); n > 0 && !p.End.Before(tokens[n-1].Expires) {
			f.Expired++ // still held after it expired
		}
		if len(tokens) < 2 {
			continue
		}
		f.Refreshed++
		times = append(times, tokens[1].At)
		if c, ok := conns[key]; ok && !c.plannedRefresh.IsZero() {
			lags = append(lags, tokens[1].At.Sub(c.plannedRefresh).Seconds())
		}
	}
	if math.IsInf(f.MinRemainingSeconds, 1) {
		f.MinRemainingSeconds = 0
	}
	f.LagP50Seconds, f.LagP99Seconds, f.LagMaxSeconds = percentile(lags, 50), percentile(lags, 99), percentile(lags, 100)
	if len(times) == 0 {
		return f
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	first, last := times[0], times[len(times)-1]
	f.SpanSeconds = last.Sub(first).Seconds()
	f.Histogram = make([]int, int(last.Sub(first)/o.Bucket)+1)
	for _, t := range times {
		f.Histogram[int(t.Sub(first)/o.Bucket)]++
	}
	for _, v := range f.Histogram {
		f.MaxPerBucket = max(f.MaxPerBucket, v)
	}
	f.MeanPerBucket = float64(len(times)) / float64(len(f.Histogram))
	f.BusiestShare = float64(f.MaxPerBucket) / float64(len(times))
	f.IdealShare = math.Min(1, o.Bucket.Seconds()/jitter.Seconds())
	return f
}

// percentile returns the p-th percentile (nearest rank) of v; 0 for no values.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

func maxValue(m map[string]int) int {
	out := 0
	for _, v := range m {
		out = max(out, v)
	}
	return out
}

// othersName is the CPU the machine spent on processes other than the benchmark's own.
const othersName = "other processes"

// maxExamples bounds the examples of repeated writes in a report.
const maxExamples = 5

// repeatedWrites describes a few connections written more than once in a phase: when
// (seconds into the phase) and, for status writes, which fields changed.
func repeatedWrites(byConn map[string][]write, secretPer, statusPer map[string]int, start time.Time) []string {
	var keys []string
	for key := range byConn {
		if secretPer[key] > 1 || statusPer[key] > 1 {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	var out []string
	if len(keys) > 0 {
		out = append(out, fmt.Sprintf("%d connections written more than once", len(keys)))
	}
	for _, key := range keys[:min(len(keys), maxExamples)] {
		var parts []string
		for _, w := range byConn[key] {
			kind := "Secret"
			if w.Kind == statusWrite {
				kind = "status " + strings.Join(w.Changed, ",")
			}
			parts = append(parts, fmt.Sprintf("+%.2fs %s", w.At.Sub(start).Seconds(), kind))
		}
		out = append(out, key+": "+strings.Join(parts, "; "))
	}
	return out
}
