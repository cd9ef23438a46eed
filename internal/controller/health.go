package controller

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
)

// checkHealth runs WhoAmI when a new token was just issued or the interval has passed,
// and sets the Healthy condition; connections holding the same token share one call
// (whoAmIs). It returns when the next check is due and the failure, if any, that decides
// Ready.
func (r *D365ConnectionReconciler) checkHealth(ctx context.Context, conn *v1alpha1.D365Connection, envURL, accessToken string, newToken bool, now time.Time) (time.Time, *stepError) {
	mnow := metav1.NewTime(now)
	hc := conn.Spec.HealthCheck
	switch {
	case hc.Disabled:
		setCondition(conn, mnow, v1alpha1.ConditionHealthy, metav1.ConditionTrue, v1alpha1.ReasonHealthCheckDisabled,
			"WhoAmI health checks are disabled (spec.healthCheck.disabled)")
		return time.Time{}, nil
	case dataverse.IsAdminServiceHost(hostOf(envURL)):
		setCondition(conn, mnow, v1alpha1.ConditionHealthy, metav1.ConditionTrue, v1alpha1.ReasonHealthCheckNotApplicable,
			"The Online Management API has no WhoAmI; health is not checked for this endpoint")
		return time.Time{}, nil
	}
	interval := defaultHealthInterval
	if hc.Interval != nil {
		interval = hc.Interval.Duration
	}
	// A failing check is retried sooner than the interval (at most a minute after the
	// last one), so that fixing the application user shows up quickly.
	healthy := conditionTrue(conn, v1alpha1.ConditionHealthy)
	key := types.NamespacedName{Namespace: conn.Namespace, Name: conn.Name}
	if last := r.healthRuns.lastRun(key, conn.Status.LastHealthCheckTime); !newToken && !last.IsZero() {
		due := last.Add(interval)
		if !healthy {
			due = last.Add(min(interval, time.Minute))
		}
		if now.Before(due) {
			if healthy {
				return due, nil
			}
			c := findCondition(conn, v1alpha1.ConditionHealthy)
			return due, &stepError{Reason: c.Reason, Message: c.Message, Terminal: conditionTrue(conn, v1alpha1.ConditionStalled)}
		}
	}

	who, err := r.whoAmIs.check(ctx, r.Environments, envURL, accessToken, now)
	r.healthRuns.record(key, now)
	if err != nil {
		conn.Status.LastHealthCheckTime = &mnow
		failed := classify(err, v1alpha1.ReasonWhoAmIFailed)
		setCondition(conn, mnow, v1alpha1.ConditionHealthy, metav1.ConditionFalse, failed.Reason, failed.Message)
		next := now.Add(min(interval, time.Minute))
		if failed.RetryAfter > 0 {
			next = now.Add(failed.RetryAfter)
		}
		return next, failed
	}
	identity := &v1alpha1.Identity{UserID: who.UserID, BusinessUnitID: who.BusinessUnitID, OrganizationID: who.OrganizationID}
	// A passing check that changes nothing is not written: a healthy connection causes no
	// API writes at rest. The time is recorded with a new token (written anyway) or a change.
	same := healthy && findCondition(conn, v1alpha1.ConditionHealthy).Reason == v1alpha1.ReasonWhoAmISucceeded &&
		conn.Status.Identity != nil && *conn.Status.Identity == *identity
	if newToken || !same || conn.Status.LastHealthCheckTime == nil {
		conn.Status.LastHealthCheckTime = &mnow
	}
	conn.Status.Identity = identity
	setCondition(conn, mnow, v1alpha1.ConditionHealthy, metav1.ConditionTrue, v1alpha1.ReasonWhoAmISucceeded,
		"WhoAmI succeeded as application user "+who.UserID)
	return now.Add(interval), nil
}

func findCondition(conn *v1alpha1.D365Connection, typ string) *metav1.Condition {
	for i := range conn.Status.Conditions {
		if conn.Status.Conditions[i].Type == typ {
			return &conn.Status.Conditions[i]
		}
	}
	return &metav1.Condition{Type: typ}
}

func conditionTrue(conn *v1alpha1.D365Connection, typ string) bool {
	return findCondition(conn, typ).Status == metav1.ConditionTrue
}

// healthRuns remembers when WhoAmI last ran per connection, since a passing check is not
// written to the status. After a restart the status time (written with each new token or
// change of outcome) is the fallback.
type healthRuns struct {
	mu   sync.Mutex
	last map[types.NamespacedName]time.Time
}

func (h *healthRuns) lastRun(key types.NamespacedName, recorded *metav1.Time) time.Time {
	h.mu.Lock()
	t := h.last[key]
	h.mu.Unlock()
	if recorded != nil && recorded.After(t) {
		return recorded.Time
	}
	return t
}

func (h *healthRuns) record(key types.NamespacedName, at time.Time) {
	h.mu.Lock()
	h.last[key] = at
	h.mu.Unlock()
}

func (h *healthRuns) forget(key types.NamespacedName) {
	h.mu.Lock()
	delete(h.last, key)
	h.mu.Unlock()
}
