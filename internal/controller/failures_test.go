package controller

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/simulator"
)

// Each failure becomes a specific reason with a message that says what to do; terminal ones
// are Stalled and not requeued (a change to the spec or a Secret retries them).
func TestFailuresHaveSpecificReasons(t *testing.T) {
	cases := []struct {
		name      string
		setup     func(h *harness)
		mutate    func(*v1alpha1.D365Connection)
		condition string
		reason    string
		mentions  string
		terminal  bool
	}{
		{
			name:      "a missing Secret names the Secret",
			setup:     func(h *harness) {},
			condition: v1alpha1.ConditionAuthenticated, reason: v1alpha1.ReasonSecretNotFound, mentions: `"d365-app"`, terminal: true,
		},
		{
			name: "a missing key names the key",
			setup: func(h *harness) {
				h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "d365-app"}, StringData: map[string]string{"client-id": clientID}})
			},
			condition: v1alpha1.ConditionAuthenticated, reason: v1alpha1.ReasonSecretKeyNotFound, mentions: `"client-secret"`, terminal: true,
		},
		{
			name:      "a wrong client secret says to use the secret's value",
			setup:     func(h *harness) { h.appSecret("not-the-secret") },
			condition: v1alpha1.ConditionAuthenticated, reason: v1alpha1.ReasonInvalidClientSecret, mentions: "AADSTS7000215", terminal: true,
		},
		{
			name: "an expired client secret says to create a new one",
			setup: func(h *harness) {
				h.sim.SetAppSecrets(tenantID, clientID, simulator.Secret{Value: clientSecret, ExpiresAt: epoch.Add(-time.Hour)})
				h.appSecret(clientSecret)
			},
			condition: v1alpha1.ConditionAuthenticated, reason: v1alpha1.ReasonClientSecretExpired, mentions: "AADSTS7000222", terminal: true,
		},
		{
			name:  "an unknown application names the client id problem",
			setup: func(h *harness) { h.appSecret(clientSecret) },
			mutate: func(c *v1alpha1.D365Connection) {
				c.Spec.Auth.ClientSecret.ClientIDRef = nil
				c.Spec.Auth.ClientSecret.ClientID = "99999999-9999-9999-9999-999999999999"
			},
			condition: v1alpha1.ConditionAuthenticated, reason: v1alpha1.ReasonApplicationNotFound, mentions: "AADSTS700016", terminal: true,
		},
		{
			name: "an app that is not an application user is told to be added",
			setup: func(h *harness) {
				h.sim.RemoveApplicationUser(envHost, clientID)
				h.appSecret(clientSecret)
			},
			condition: v1alpha1.ConditionHealthy, reason: v1alpha1.ReasonApplicationUserNotFound, mentions: "application user", terminal: true,
		},
		{
			name:      "an environment outside Dataverse's hosts is refused",
			setup:     func(h *harness) { h.appSecret(clientSecret) },
			mutate:    func(c *v1alpha1.D365Connection) { c.Spec.EnvironmentURL = "https://crm.contoso.example" },
			condition: v1alpha1.ConditionAuthenticated, reason: v1alpha1.ReasonEnvironmentNotTrusted, mentions: "crm.contoso.example", terminal: true,
		},
		{
			name:      "a challenge pointing at a foreign authority is refused",
			setup:     func(h *harness) { h.appSecret(clientSecret) },
			mutate:    func(c *v1alpha1.D365Connection) { c.Spec.EnvironmentURL = "https://" + evilEnvHost },
			condition: v1alpha1.ConditionAuthenticated, reason: v1alpha1.ReasonAuthorityNotTrusted, mentions: "login.evil.example", terminal: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			c.setup(h)
			var mutate []func(*v1alpha1.D365Connection)
			if c.mutate != nil {
				mutate = append(mutate, c.mutate)
			}
			h.connection("sales", mutate...)
			res := h.reconcile("sales")

			got := h.condition("sales", c.condition)
			if got.Status != metav1.ConditionFalse || got.Reason != c.reason {
				t.Fatalf("%s = %s/%s (%s), want False/%s", c.condition, got.Status, got.Reason, got.Message, c.reason)
			}
			if !strings.Contains(got.Message, c.mentions) {
				t.Errorf("message %q does not mention %s", got.Message, c.mentions)
			}
			ready := h.condition("sales", v1alpha1.ConditionReady)
			if ready.Status != metav1.ConditionFalse || ready.Reason != c.reason {
				t.Errorf("Ready = %s/%s, want False/%s", ready.Status, ready.Reason, c.reason)
			}
			stalled := h.condition("sales", v1alpha1.ConditionStalled)
			if c.terminal && stalled.Status != metav1.ConditionTrue {
				t.Errorf("Stalled = %s, want True for a failure only the user can fix", stalled.Status)
			}
			if c.terminal && c.condition == v1alpha1.ConditionAuthenticated && res.RequeueAfter != 0 {
				t.Errorf("requeued after %v: a terminal failure must wait for a change, not loop", res.RequeueAfter)
			}
			if n := h.requestsTo("login.evil.example"); n != 0 {
				t.Errorf("%d requests reached the foreign authority", n)
			}
		})
	}
}

func TestMissingSecretThenCreatedBecomesReady(t *testing.T) {
	h := newHarness(t)
	h.connection("sales")
	h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Reason != v1alpha1.ReasonSecretNotFound {
		t.Fatalf("Ready reason %s, want SecretNotFound", c.Reason)
	}
	h.appSecret(clientSecret)
	h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Fatalf("Ready = %s (%s) after the Secret was created", c.Status, c.Message)
	}
	if s := h.condition("sales", v1alpha1.ConditionStalled); s.Status != "" {
		t.Errorf("Stalled still present: %+v", s)
	}
	ev := h.events.String()
	if !strings.Contains(ev, "Warning SecretNotFound") || !strings.Contains(ev, "Normal Recovered") {
		t.Errorf("events %q, want a failure then a recovery", ev)
	}
}

func TestThrottlingHonoursRetryAfter(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.sim.InjectFault(simulator.Fault{Host: "login.microsoftonline.com", PathPrefix: "/" + tenantID + "/oauth2/v2.0/token", Status: 429, RetryAfter: "120", Count: 2})

	res := h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Reason != v1alpha1.ReasonThrottled {
		t.Fatalf("Ready reason %s (%s), want Throttled", c.Reason, c.Message)
	}
	if res.RequeueAfter < 120*time.Second {
		t.Errorf("requeued after %v, want at least Retry-After (120s)", res.RequeueAfter)
	}
	if s := h.condition("sales", v1alpha1.ConditionStalled); s.Status == metav1.ConditionTrue {
		t.Error("throttling is not a stall: it passes by itself")
	}
	h.advanceTo(epoch.Add(res.RequeueAfter))
	res = h.reconcile("sales")
	if res.RequeueAfter < 120*time.Second {
		t.Errorf("second retry after %v, want at least Retry-After", res.RequeueAfter)
	}
	h.advanceTo(h.clock.Now().Add(res.RequeueAfter))
	h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Fatalf("Ready = %s (%s) after throttling ended", c.Status, c.Message)
	}
	if n := h.tokenRequests(); n != 3 {
		t.Errorf("%d token requests, want exactly 3 (two throttled, one issued): no retry before Retry-After", n)
	}
}

func TestOutageKeepsTheLastGoodToken(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	conn := h.get("sales")
	old := string(h.secret("sales-token").Data["access_token"])

	h.sim.InjectFault(simulator.Fault{Host: "login.microsoftonline.com", Status: 503})
	h.advanceTo(conn.Status.NextRefreshTime.Time)
	var attempts int
	for h.clock.Now().Before(conn.Status.TokenExpiresAt.Time) {
		res := h.reconcile("sales")
		attempts++
		if res.RequeueAfter <= 0 {
			t.Fatal("an outage was not retried")
		}
		h.advanceTo(h.clock.Now().Add(res.RequeueAfter))
	}
	if attempts < 4 {
		t.Errorf("%d attempts before the token expired, want several", attempts)
	}
	if got := string(h.secret("sales-token").Data["access_token"]); got != old {
		t.Error("the last good token was replaced or removed during the outage")
	}
	c := h.condition("sales", v1alpha1.ConditionReady)
	if c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonServiceUnavailable {
		t.Errorf("Ready = %s/%s, want False/ServiceUnavailable", c.Status, c.Reason)
	}
	h.sim.ClearFaults()
	h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s (%s) after the outage", c.Status, c.Message)
	}
}

func TestASecretNotOwnedIsLeftUntouched(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "sales-token"}, StringData: map[string]string{"mine": "keep"}})
	h.connection("sales")

	res := h.reconcile("sales")

	c := h.condition("sales", v1alpha1.ConditionReady)
	if c.Reason != v1alpha1.ReasonTargetSecretConflict || !strings.Contains(c.Message, "sales-token") {
		t.Errorf("Ready = %s (%s), want TargetSecretConflict naming the Secret", c.Reason, c.Message)
	}
	if res.RequeueAfter != 0 {
		t.Errorf("a conflict is requeued after %v; it waits for the user", res.RequeueAfter)
	}
	s := h.secret("sales-token")
	if string(s.Data["mine"]) != "keep" || len(s.Data) != 1 || len(s.OwnerReferences) != 0 {
		t.Errorf("the foreign Secret was modified: %v %v", s.Data, s.OwnerReferences)
	}
}
