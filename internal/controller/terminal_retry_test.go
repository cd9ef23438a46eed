package controller

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/simulator"
)

// A refusal that looks terminal (invalid_client) but passes by itself must not let a
// working connection's token run out silently: the connection is Stalled, and still tried
// again before the token it holds expires.
func TestATerminalFailureIsRetriedBeforeTheHeldTokenExpires(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	expires := h.get("sales").Status.TokenExpiresAt.Time

	h.advanceTo(h.get("sales").Status.NextRefreshTime.Time)
	h.sim.InjectFault(simulator.Fault{Host: "login.microsoftonline.com", PathPrefix: "/" + tenantID + "/oauth2/v2.0/token", Status: 401, Count: 1,
		Body: `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`})
	res := h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionStalled); c.Status != metav1.ConditionTrue {
		t.Fatalf("Stalled = %s (%s), want True", c.Status, c.Message)
	}
	retry := h.clock.Now().Add(res.RequeueAfter)
	if res.RequeueAfter <= 0 || !retry.Before(expires) {
		t.Fatalf("requeued after %v (at %s); want a retry before the held token expires at %s", res.RequeueAfter, retry, expires)
	}
	h.advanceTo(retry)
	h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s (%s: %s) after the retry, want True", c.Status, c.Reason, c.Message)
	}
	if got := h.get("sales").Status.TokenExpiresAt.Time; !got.After(expires) {
		t.Errorf("token expires at %s, want a new token", got)
	}
}

// A token without a lifetime is not written (it would be due at once, and loop): the
// request is retried with backoff.
func TestATokenWithoutLifetimeDoesNotLoop(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.sim.InjectFault(simulator.Fault{Host: "login.microsoftonline.com", PathPrefix: "/" + tenantID + "/oauth2/v2.0/token", Status: 200, Count: 1,
		Body: `{"token_type":"Bearer","expires_in":0,"access_token":"eyJ0eXAiOiJKV1QifQ.eyJ6ZXJvIjp0cnVlfQ.c2ln"}`})
	res := h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Reason != v1alpha1.ReasonTokenRequestFailed || res.RequeueAfter < 5*time.Second {
		t.Fatalf("Ready = %s (%s), requeue %v; want TokenRequestFailed with backoff", c.Reason, c.Message, res.RequeueAfter)
	}
	if h.secret("sales-token") != nil {
		t.Error("a token without a lifetime was written")
	}
	h.advanceTo(h.clock.Now().Add(res.RequeueAfter))
	h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s (%s) after the retry", c.Status, c.Message)
	}
}

// A requested-at annotation longer than 64 characters forces nothing and is not echoed.
func TestAnOverlongRefreshRequestIsIgnoredAndSaysSo(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	forceRefresh(h, "sales", strings.Repeat("x", 65))
	h.reconcile("sales")
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1: the overlong request is ignored", n)
	}
	conn := h.get("sales")
	if c := findCondition(conn, v1alpha1.ConditionAuthenticated); !strings.Contains(c.Message, "longer than 64 characters and is ignored") {
		t.Errorf("Authenticated message %q does not say the annotation is ignored", c.Message)
	}
	if conn.Status.LastHandledRequestedAt != "" {
		t.Errorf("lastHandledRequestedAt = %q, want nothing echoed", conn.Status.LastHandledRequestedAt)
	}
}
