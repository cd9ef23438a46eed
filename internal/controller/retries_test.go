package controller

import (
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/d365-operator/d365-operator/internal/simulator"
)

// A failed step is returned as an error (controller-runtime's error metrics count it): a
// terminal one as a TerminalError, not requeued; a transient one as a plain error whose
// requeue waits as long as the reconciler planned, here the server's Retry-After.
func TestFailedStepsReachControllerRuntimeAsErrors(t *testing.T) {
	h := newHarness(t)
	h.connection("sales")
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: h.ns, Name: "sales"}}
	if _, err := h.r.Reconcile(h.ctx, req); !errors.Is(err, reconcile.TerminalError(nil)) {
		t.Errorf("missing Secret: err = %v, want a TerminalError", err)
	}

	h.appSecret(clientSecret)
	h.sim.InjectFault(simulator.Fault{Host: "login.microsoftonline.com", PathPrefix: "/" + tenantID + "/oauth2/v2.0/token", Status: 429, RetryAfter: "120", Count: 1})
	_, err := h.r.Reconcile(h.ctx, req)
	if err == nil || errors.Is(err, reconcile.TerminalError(nil)) {
		t.Fatalf("throttled: err = %v, want a transient error", err)
	}
	if wait := h.r.retries.When(req); wait < 120*time.Second {
		t.Errorf("the rate limiter requeues after %v, want at least Retry-After (120s)", wait)
	}
	if wait := h.r.retries.When(req); wait >= time.Second {
		t.Errorf("a plan is used once: an unplanned retry backs off from milliseconds, got %v", wait)
	}
}
