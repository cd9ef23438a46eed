package main

import (
	"bufio"
	"context"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The operator's own metrics (controller-runtime's and client-go's, plus d365_*) are
// scraped at each phase boundary. They explain the figures: how many reconciles and API
// requests a phase took, and how deep the work queue got.

// sampleSet is one scrape: "name{labels}" → value.
type sampleSet map[string]float64

// scrapeMetrics reads the Prometheus text exposition at url with hc; nil when unreachable.
func scrapeMetrics(ctx context.Context, hc *http.Client, url string) sampleSet {
	if url == "" || hc == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil
	}
	defer func() { _ = resp.Body.Close() }()
	out := sampleSet{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

// splitSeries splits `name{a="1",b="2"}` into its name and labels.
func splitSeries(series string) (string, map[string]string) {
	name, rest, ok := strings.Cut(series, "{")
	labels := map[string]string{}
	if !ok {
		return name, labels
	}
	rest = strings.TrimSuffix(rest, "}")
	for rest != "" {
		k, after, ok := strings.Cut(rest, "=\"")
		if !ok {
			break
		}
		// Label values here hold no escaped quotes (codes, verbs, controller names).
		v, after, _ := strings.Cut(after, "\"")
		labels[strings.TrimPrefix(k, ",")] = v
		rest = strings.TrimPrefix(after, ",")
	}
	return name, labels
}

// sum adds up the series of metric name whose labels include match, grouped by the value
// of label by ("" groups everything under "").
func (s sampleSet) sum(name string, match map[string]string, by string) map[string]float64 {
	out := map[string]float64{}
	for series, v := range s {
		n, labels := splitSeries(series)
		if n != name {
			continue
		}
		ok := true
		for k, want := range match {
			if labels[k] != want {
				ok = false
				break
			}
		}
		if ok {
			out[labels[by]] += v
		}
	}
	return out
}

// phaseMetrics are the operator's own counters over one phase.
type phaseMetrics struct {
	// Reconciles by result (success, requeue, requeue_after, error).
	Reconciles map[string]float64 `json:"reconciles,omitempty"`
	// APIRequests are the operator's requests to the API server, by verb.
	APIRequests map[string]float64 `json:"apiRequests,omitempty"`
	// ReconcileSecondsMean is the mean time of one reconcile.
	ReconcileSecondsMean float64 `json:"reconcileSecondsMean,omitempty"`
	// QueueWaitSecondsMean is the mean time a request waited in the work queue.
	QueueWaitSecondsMean float64 `json:"queueWaitSecondsMean,omitempty"`
	// Goroutines and HeapInuseMiB at the end of the phase.
	Goroutines   float64 `json:"goroutines,omitempty"`
	HeapInuseMiB float64 `json:"heapInuseMiB,omitempty"`
}

const controllerName = "d365connection"

// metricsBetween returns the counters' increase from a to b.
func metricsBetween(a, b sampleSet) *phaseMetrics {
	if a == nil || b == nil {
		return nil
	}
	ctrl := map[string]string{"controller": controllerName}
	queue := map[string]string{"name": controllerName}
	delta := func(name string, match map[string]string, by string) map[string]float64 {
		before, after := a.sum(name, match, by), b.sum(name, match, by)
		out := map[string]float64{}
		for k, v := range after {
			if d := v - before[k]; d != 0 {
				out[k] = d
			}
		}
		return out
	}
	m := &phaseMetrics{
		Reconciles:  delta("controller_runtime_reconcile_total", ctrl, "result"),
		APIRequests: delta("rest_client_requests_total", nil, "method"),
	}
	if n := delta("controller_runtime_reconcile_time_seconds_count", ctrl, "")[""]; n > 0 {
		m.ReconcileSecondsMean = delta("controller_runtime_reconcile_time_seconds_sum", ctrl, "")[""] / n
	}
	if n := delta("workqueue_queue_duration_seconds_count", queue, "")[""]; n > 0 {
		m.QueueWaitSecondsMean = delta("workqueue_queue_duration_seconds_sum", queue, "")[""] / n
	}
	m.Goroutines = b.sum("go_goroutines", nil, "")[""]
	m.HeapInuseMiB = b.sum("go_memstats_heap_inuse_bytes", nil, "")[""] / (1 << 20)
	return m
}

// meanBetween returns a histogram's mean in milliseconds from a to b, grouped by label by.
func meanBetween(a, b sampleSet, histogram string, match map[string]string, by string) map[string]float64 {
	sumA, sumB := a.sum(histogram+"_sum", match, by), b.sum(histogram+"_sum", match, by)
	cntA, cntB := a.sum(histogram+"_count", match, by), b.sum(histogram+"_count", match, by)
	out := map[string]float64{}
	for k, n := range cntB {
		if d := n - cntA[k]; d > 0 {
			out[k] = math.Round((sumB[k]-sumA[k])/d*1000*10) / 10
		}
	}
	return out
}

// controlPlaneMetrics are the API server's view of a phase: mean request latency by
// resource and verb (as the API server measured it, etcd included) and mean etcd latency.
type controlPlaneMetrics struct {
	RequestLatencyMs map[string]float64 `json:"requestLatencyMs,omitempty"`
	Requests         map[string]float64 `json:"requests,omitempty"`
	EtcdLatencyMs    map[string]float64 `json:"etcdLatencyMs,omitempty"`
}

// controlPlaneBetween returns the API server's figures for the benchmark's resources.
func controlPlaneBetween(a, b sampleSet) *controlPlaneMetrics {
	if a == nil || b == nil {
		return nil
	}
	m := &controlPlaneMetrics{RequestLatencyMs: map[string]float64{}, Requests: map[string]float64{}}
	for _, res := range []string{"d365connections", "secrets", "events"} {
		match := map[string]string{"resource": res}
		// Watches are long-running: their "latency" is how long they stayed open.
		for verb, v := range meanBetween(a, b, "apiserver_request_duration_seconds", match, "verb") {
			if verb != "WATCH" {
				m.RequestLatencyMs[res+" "+verb] = v
			}
		}
		before, after := a.sum("apiserver_request_total", match, "verb"), b.sum("apiserver_request_total", match, "verb")
		for verb, v := range after {
			if d := v - before[verb]; d > 0 && verb != "WATCH" {
				m.Requests[res+" "+verb] = d
			}
		}
	}
	m.EtcdLatencyMs = meanBetween(a, b, "etcd_request_duration_seconds", nil, "operation")
	return m
}

// formatCounts renders a map as "k=v k=v" in key order, for the table.
func formatCounts(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strconv.FormatFloat(m[k], 'f', -1, 64))
	}
	return strings.Join(parts, " ")
}
