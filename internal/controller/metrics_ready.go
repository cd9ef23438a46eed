package controller

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// readyDesc is one series per connection this process watches: 1 when Ready=True, else 0,
// with the Ready condition's reason and the connection's shard. It is read from the
// informer cache at scrape time (as kube-state-metrics does), so the reconciler writes
// nothing for it and a connection that never reconciles still shows up, with 0.
var readyDesc = prometheus.NewDesc("d365_connection_ready",
	"1 when the connection's Ready condition is True, else 0; reason is the condition's reason "+
		"(Unknown before the first reconcile), shard the d365.operators.dev/shard label (default without).",
	strings.Fields("namespace name reason shard"), nil)

// readyCollector lists connections from a cache when scraped.
type readyCollector struct{ reader client.Reader }

// RegisterReadyMetrics publishes d365_connection_ready for the connections reader lists:
// the manager's cache, so each shard reports its own connections.
func RegisterReadyMetrics(reader client.Reader) error {
	return ctrlmetrics.Registry.Register(&readyCollector{reader: reader})
}

// Describe sends the one descriptor.
func (c *readyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- readyDesc }

// Collect lists the cached connections; a cache not yet synced yields no series.
func (c *readyCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list v1alpha1.D365ConnectionList
	if err := c.reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	for i := range list.Items {
		conn := &list.Items[i]
		value, reason := 0.0, "Unknown"
		if cond := apimeta.FindStatusCondition(conn.Status.Conditions, v1alpha1.ConditionReady); cond != nil {
			reason = cond.Reason
			if cond.Status == "True" {
				value = 1
			}
		}
		shard := conn.Labels[v1alpha1.LabelShard]
		if shard == "" {
			shard = "default"
		}
		ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, value, conn.Namespace, conn.Name, reason, shard)
	}
}
