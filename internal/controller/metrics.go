package controller

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// Metrics live in controller-runtime's registry, served on the manager's secure metrics
// endpoint. Labels are namespace, name, reason and result only: never a token, a secret
// or a client id.
var (
	tokenExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "d365_connection_token_expiry_timestamp_seconds",
		Help: "When the token in the connection's output Secret expires (unix seconds).",
	}, []string{"namespace", "name"})
	nextRefresh = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "d365_connection_next_refresh_timestamp_seconds",
		Help: "When the operator will replace the connection's token (unix seconds).",
	}, []string{"namespace", "name"})
	tokenAcquisitions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "d365_token_acquisitions_total",
		Help: "Tokens written to output Secrets, by result (success, failure) and reason.",
	}, []string{"result", "reason"})
	whoAmIDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "d365_whoami_duration_seconds",
		Help:    "WhoAmI call latency by result (the condition reason).",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	}, []string{"result"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(tokenExpiry, nextRefresh, tokenAcquisitions, whoAmIDuration)
}

// recordSchedule publishes a connection's token expiry and next refresh.
func recordSchedule(conn *v1alpha1.D365Connection) {
	if t := conn.Status.TokenExpiresAt; t != nil {
		tokenExpiry.WithLabelValues(conn.Namespace, conn.Name).Set(float64(t.Unix()))
	}
	if t := conn.Status.NextRefreshTime; t != nil {
		nextRefresh.WithLabelValues(conn.Namespace, conn.Name).Set(float64(t.Unix()))
	}
}

// forgetSchedule drops a deleted connection's series.
func forgetSchedule(namespace, name string) {
	tokenExpiry.DeleteLabelValues(namespace, name)
	nextRefresh.DeleteLabelValues(namespace, name)
}

func recordAcquisition(failed *stepError) {
	if failed == nil {
		tokenAcquisitions.WithLabelValues("success", v1alpha1.ReasonTokenIssued).Inc()
		return
	}
	tokenAcquisitions.WithLabelValues("failure", failed.Reason).Inc()
}

func recordWhoAmI(result string, took time.Duration) {
	whoAmIDuration.WithLabelValues(result).Observe(took.Seconds())
}
