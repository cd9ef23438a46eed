package main

import (
	"bufio"
	"context"
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

// scrapeMetrics reads the Prometheus text exposition at url; nil when unreachable.
func scrapeMetrics(ctx context.Context, url string) sampleSet {
	if url == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	resp, err := http.DefaultClient.Do(req)
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
