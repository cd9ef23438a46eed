package controller

import (
	"errors"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/d365-operator/d365-operator/internal/dataverse"
)

// Dataverse's service protection budget, as its headers reported it on the operator's own
// calls (WhoAmI, RetrieveUserPrivileges, RetrieveVersion, RetrieveCurrentOrganization).
// Labels: environment is the environment's host name; identity is the application user's
// systemuserid from WhoAmI (a GUID Dataverse shows to every admin, never a client id, a
// secret or a token). Dataverse counts the budget per user and web server, so the values
// are what remained at the operator's last call, on the server that answered it.
// budgetLabels are the budget gauges' labels.
var budgetLabels = []string{"environment", "identity"}

var (
	budgetRequests = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "d365_dataverse_requests_remaining",
		Help: "Requests that remained of the application user's service protection budget at the operator's last Dataverse call (x-ms-ratelimit-burst-remaining-xrm-requests).",
	}, budgetLabels)
	budgetExecutionTime = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "d365_dataverse_execution_time_remaining_seconds",
		Help: "Combined execution time that remained of the application user's service protection budget at the operator's last Dataverse call (x-ms-ratelimit-time-remaining-xrm-requests).",
	}, budgetLabels)
	throttled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "d365_dataverse_throttled_total",
		Help: "Operator calls Dataverse throttled (429, or 503 with Retry-After), by environment and the limit hit: requests (0x80072322), execution_time (0x80072321), concurrency (0x80072326) or unknown.",
	}, []string{budgetLabels[0], "limit"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(budgetRequests, budgetExecutionTime, throttled)
}

// recordBudget publishes what a call's headers said remained for userID at envURL.
func recordBudget(envURL, userID string, b dataverse.Budget) {
	host := hostOf(envURL)
	if userID == "" || host == "" {
		return
	}
	if b.HasRequests {
		budgetRequests.WithLabelValues(host, userID).Set(b.Requests)
	}
	if b.HasExecutionTime {
		budgetExecutionTime.WithLabelValues(host, userID).Set(b.ExecutionTime.Seconds())
	}
}

// recordThrottle counts a throttled Dataverse call by the limit it hit.
func recordThrottle(envURL string, err error) {
	var de *dataverse.Error
	if errors.As(err, &de) && de.Kind == dataverse.Throttled {
		throttled.WithLabelValues(hostOf(envURL), string(de.Limit)).Inc()
	}
}

func hostOf(envURL string) string {
	u, err := url.Parse(envURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
