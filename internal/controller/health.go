package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/environment"
)

// checkHealth runs WhoAmI when a new token was just issued or the interval has passed,
// then the privilege check (when spec.healthCheck.requiredPrivileges names any) and the
// environment's description; connections holding the same token share the calls. Sets
// s.healthAt (when the next check is due), Healthy, and on a change status.identity,
// status.environment and lastHealthCheckTime.
func (r *D365ConnectionReconciler) checkHealth(ctx context.Context, s *reconcileState) *stepError {
	if notChecked(s) {
		return nil
	}
	conn := s.conn
	interval := defaultHealthInterval
	if conn.Spec.HealthCheck.Interval != nil {
		interval = conn.Spec.HealthCheck.Interval.Duration
	}
	if due, failed, wait := r.healthCheckDue(s, interval); wait {
		s.healthAt = due
		return failed
	}

	who, err := r.whoAmIs.check(ctx, r.Environments, s.env.URL(), s.token.AccessToken, s.now)
	r.healthRuns.record(types.NamespacedName{Namespace: conn.Namespace, Name: conn.Name}, s.now)
	if err == nil {
		err = r.checkPrivileges(ctx, s, who, interval)
	}
	if err != nil {
		mnow := metav1.NewTime(s.now)
		conn.Status.LastHealthCheckTime = &mnow
		failed := classify(err, v1alpha1.ReasonWhoAmIFailed)
		s.healthAt = s.now.Add(min(interval, time.Minute))
		if failed.RetryAfter > 0 {
			s.healthAt = s.now.Add(failed.RetryAfter)
		}
		return failed
	}
	r.refreshEnvironmentInfo(ctx, s, who)
	r.recordHealthy(s, who)
	s.healthAt = s.now.Add(jitteredInterval(interval, jitterFor(string(conn.UID))))
	return nil
}

// notChecked sets Healthy for a connection whose health is not checked: checks disabled,
// or an endpoint without WhoAmI (the Online Management API).
func notChecked(s *reconcileState) bool {
	conn, mnow := s.conn, metav1.NewTime(s.now)
	switch {
	case conn.Spec.HealthCheck.Disabled:
		setCondition(conn, mnow, v1alpha1.ConditionHealthy, metav1.ConditionTrue, v1alpha1.ReasonHealthCheckDisabled,
			"WhoAmI health checks are disabled (spec.healthCheck.disabled)")
		return true
	case s.env.Kind() == environment.OnlineManagementAPI:
		setCondition(conn, mnow, v1alpha1.ConditionHealthy, metav1.ConditionTrue, v1alpha1.ReasonHealthCheckNotApplicable,
			"The Online Management API has no WhoAmI; health is not checked for this endpoint")
		return true
	}
	return false
}

// healthCheckDue returns, when the last check is recent enough to stand (wait), when the
// next one is due and the failure it found, if any. A failing check is retried sooner than
// the interval (at most a minute after the last one), so that fixing the application user
// shows up quickly. A new token is always checked.
func (r *D365ConnectionReconciler) healthCheckDue(s *reconcileState, interval time.Duration) (due time.Time, failed *stepError, wait bool) {
	conn := s.conn
	healthy := conditionTrue(conn, v1alpha1.ConditionHealthy)
	last := r.healthRuns.lastRun(types.NamespacedName{Namespace: conn.Namespace, Name: conn.Name}, conn.Status.LastHealthCheckTime)
	if s.fresh || last.IsZero() {
		return time.Time{}, nil, false
	}
	due = last.Add(interval)
	if !healthy {
		due = last.Add(min(interval, time.Minute))
	}
	if !s.now.Before(due) {
		return time.Time{}, nil, false
	}
	if healthy {
		return due, nil, true
	}
	c := findCondition(conn, v1alpha1.ConditionHealthy)
	return due, &stepError{Reason: c.Reason, Message: c.Message, Terminal: conditionTrue(conn, v1alpha1.ConditionStalled)}, true
}

// recordHealthy sets Healthy and the identity WhoAmI returned. A passing check that changes
// nothing is not written: a healthy connection causes no API writes at rest. The time is
// recorded with a new token (written anyway) or a change. An organization id other than
// the one of the previous check means the environment at this URL was copied over or
// reset: a Warning event, and a note in the message that stays until the next change.
func (r *D365ConnectionReconciler) recordHealthy(s *reconcileState, who dataverse.Identity) {
	conn, mnow := s.conn, metav1.NewTime(s.now)
	identity := &v1alpha1.Identity{UserID: who.UserID, BusinessUnitID: who.BusinessUnitID, OrganizationID: who.OrganizationID}
	healthy := findCondition(conn, v1alpha1.ConditionHealthy)
	same := healthy.Status == metav1.ConditionTrue && healthy.Reason == v1alpha1.ReasonWhoAmISucceeded &&
		conn.Status.Identity != nil && *conn.Status.Identity == *identity
	if s.fresh || !same || conn.Status.LastHealthCheckTime == nil {
		conn.Status.LastHealthCheckTime = &mnow
	}
	message := "WhoAmI succeeded as application user " + who.UserID
	if len(conn.Spec.HealthCheck.RequiredPrivileges) > 0 {
		message += ", which holds the required privileges"
	}
	if prev := conn.Status.Identity; prev != nil && prev.OrganizationID != "" && prev.OrganizationID != who.OrganizationID {
		note := fmt.Sprintf("the environment at this URL is now a different organization (organization id %s, was %s): it was copied over or reset",
			who.OrganizationID, prev.OrganizationID)
		message += "; " + note
		r.announceOrganizationChange(conn, note)
	} else if same {
		message = healthy.Message // keeps an earlier note until the next change
	}
	conn.Status.Identity = identity
	setCondition(conn, mnow, v1alpha1.ConditionHealthy, metav1.ConditionTrue, v1alpha1.ReasonWhoAmISucceeded, message)
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
