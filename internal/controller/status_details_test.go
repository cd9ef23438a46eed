package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

func TestRefreshBeforeLongerThanTheLifetimeIsExplained(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales", func(c *v1alpha1.D365Connection) {
		c.Spec.RefreshBefore = &metav1.Duration{Duration: 2 * time.Hour}
	})
	h.reconcile("sales")

	conn := h.get("sales")
	c := findCondition(conn, v1alpha1.ConditionAuthenticated)
	if c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "does not fit") {
		t.Errorf("Authenticated = %s (%s), want True with a message that refreshBefore does not fit", c.Status, c.Message)
	}
	if got := conn.Status.NextRefreshTime.Sub(epoch); got > tokenLife/2 || got <= 0 {
		t.Errorf("next refresh %v after issue, want by half the lifetime (no refresh loop)", got)
	}
}

func TestMetricsDescribeTheSchedule(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	successes := testutil.ToFloat64(tokenAcquisitions.WithLabelValues("success", v1alpha1.ReasonTokenIssued))
	h.reconcile("sales")

	conn := h.get("sales")
	if got := testutil.ToFloat64(tokenExpiry.WithLabelValues(h.ns, "sales")); got != float64(conn.Status.TokenExpiresAt.Unix()) {
		t.Errorf("token expiry gauge %v, want %d", got, conn.Status.TokenExpiresAt.Unix())
	}
	if got := testutil.ToFloat64(nextRefresh.WithLabelValues(h.ns, "sales")); got != float64(conn.Status.NextRefreshTime.Unix()) {
		t.Errorf("next refresh gauge %v, want %d", got, conn.Status.NextRefreshTime.Unix())
	}
	if got := testutil.ToFloat64(tokenAcquisitions.WithLabelValues("success", v1alpha1.ReasonTokenIssued)); got != successes+1 {
		t.Errorf("successful acquisitions went from %v to %v, want one more", successes, got)
	}
	if n := testutil.CollectAndCount(whoAmIDuration); n == 0 {
		t.Error("no WhoAmI latency recorded")
	}
}

func TestANewEnvironmentURLIsDiscoveredAgain(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales", func(c *v1alpha1.D365Connection) { c.Spec.EnvironmentURL = "https://" + evilEnvHost })
	h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Reason != v1alpha1.ReasonAuthorityNotTrusted {
		t.Fatalf("Ready reason %s, want AuthorityNotTrusted", c.Reason)
	}

	conn := h.get("sales")
	conn.Spec.EnvironmentURL = envURL
	if err := env.Client.Update(h.ctx, conn); err != nil {
		t.Fatal(err)
	}
	h.reconcile("sales")
	conn = h.get("sales")
	if c := findCondition(conn, v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Fatalf("Ready = %s (%s: %s) after fixing the URL", c.Status, c.Reason, c.Message)
	}
	if conn.Status.DiscoveredFor != envURL+"/" || conn.Status.TenantID != tenantID {
		t.Errorf("discoveredFor %q tenant %q, want the new environment's", conn.Status.DiscoveredFor, conn.Status.TenantID)
	}
}
