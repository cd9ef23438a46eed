package controller

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/simulator"
)

func TestFirstTokenMakesTheConnectionReady(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")

	res := h.reconcile("sales")

	conn := h.get("sales")
	for _, typ := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionAuthenticated, v1alpha1.ConditionHealthy} {
		if c := findCondition(conn, typ); c.Status != metav1.ConditionTrue {
			t.Errorf("%s = %s (%s: %s), want True", typ, c.Status, c.Reason, c.Message)
		}
	}
	if conn.Status.ObservedGeneration != conn.Generation {
		t.Errorf("observedGeneration %d, want %d", conn.Status.ObservedGeneration, conn.Generation)
	}
	if conn.Status.TenantID != tenantID || conn.Status.Authority != "https://login.microsoftonline.com/"+tenantID+"/" {
		t.Errorf("tenant %q authority %q, not discovered from the challenge", conn.Status.TenantID, conn.Status.Authority)
	}
	want := v1alpha1.Identity{UserID: appUserID, BusinessUnitID: buID, OrganizationID: orgID}
	if conn.Status.Identity == nil || *conn.Status.Identity != want {
		t.Errorf("identity %+v, want %+v", conn.Status.Identity, want)
	}
	if got := conn.Status.NextRefreshTime.Sub(epoch); got > tokenLife/2 || got < tokenLife/2-tokenLife/2/maxJitterShare {
		t.Errorf("next refresh %v after issue, want within the jitter's share of the window before half the lifetime", got)
	}
	if res.RequeueAfter <= 0 || res.RequeueAfter > conn.Status.NextRefreshTime.Sub(epoch) {
		t.Errorf("requeue after %v, want by the next refresh", res.RequeueAfter)
	}

	s := h.secret("sales-token")
	if s == nil {
		t.Fatal("the output Secret sales-token was not written")
	}
	if !metav1.IsControlledBy(s, conn) || s.Labels[v1alpha1.LabelManagedBy] != v1alpha1.ManagedByValue {
		t.Errorf("output Secret lacks the controller owner reference or the managed-by label: %v %v", s.OwnerReferences, s.Labels)
	}
	wantKeys := map[string]string{
		v1alpha1.SecretKeyTokenType:      "Bearer",
		v1alpha1.SecretKeyExpiresAt:      epoch.Add(tokenLife).Format(time.RFC3339),
		v1alpha1.SecretKeyEnvironmentURL: envURL + "/",
		v1alpha1.SecretKeyWebAPIURL:      envURL + "/api/data/v9.2/",
	}
	for k, v := range wantKeys {
		if got := string(s.Data[k]); got != v {
			t.Errorf("Secret key %s = %q, want %q", k, got, v)
		}
	}
	if tok := string(s.Data[v1alpha1.SecretKeyAccessToken]); strings.Count(tok, ".") != 2 {
		t.Error("access_token is not a bare JWT")
	}
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	if ev := h.events.list(); len(ev) != 1 || !strings.HasPrefix(ev[0], "Normal TokenIssued") {
		t.Errorf("events %q, want one TokenIssued", ev)
	}
}

func TestReadyConnectionIsCurrentForKstatus(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")

	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(h.get("sales"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(&unstructured.Unstructured{Object: obj})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != status.CurrentStatus {
		t.Errorf("kstatus %s (%s), want Current", res.Status, res.Message)
	}
}

func TestTokensAreRefreshedBeforeExpiryAcrossCycles(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")

	const cycles = 4
	for i := range cycles {
		before := h.get("sales")
		oldSecret := h.secret("sales-token")

		// Just before the planned refresh nothing is requested or written.
		h.advanceTo(before.Status.NextRefreshTime.Add(-time.Second))
		h.reconcile("sales")
		if n := h.tokenRequests(); n != 1+i {
			t.Fatalf("cycle %d: %d token requests before the refresh time, want %d", i, n, 1+i)
		}
		if got := h.secret("sales-token"); got.ResourceVersion != oldSecret.ResourceVersion {
			t.Fatalf("cycle %d: the Secret was written before the refresh time", i)
		}

		h.advanceTo(before.Status.NextRefreshTime.Time)
		h.reconcile("sales")
		after := h.get("sales")
		newSecret := h.secret("sales-token")
		if n := h.tokenRequests(); n != 2+i {
			t.Fatalf("cycle %d: %d token requests, want %d", i, n, 2+i)
		}
		if string(newSecret.Data["access_token"]) == string(oldSecret.Data["access_token"]) {
			t.Fatalf("cycle %d: the token was not replaced", i)
		}
		// Replaced while the old token had at least half... minus jitter of its life left.
		left := before.Status.TokenExpiresAt.Sub(h.clock.Now())
		if left < tokenLife/2 || left > tokenLife/2+tokenLife/2/maxJitterShare {
			t.Errorf("cycle %d: replaced with %v left, want about half the lifetime", i, left)
		}
		if !after.Status.NextRefreshTime.After(before.Status.NextRefreshTime.Time) {
			t.Errorf("cycle %d: next refresh did not move forward", i)
		}
	}
	if ev := h.events.list(); len(ev) != 1 {
		t.Errorf("events %q: a routine refresh must not emit events", ev)
	}
}

func TestNothingIsWrittenWhenNothingChanged(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	conn, s := h.get("sales"), h.secret("sales-token")

	h.advanceTo(epoch.Add(time.Minute))
	for range 3 {
		h.reconcile("sales")
	}
	if got := h.get("sales"); got.ResourceVersion != conn.ResourceVersion {
		t.Errorf("the status was written although nothing changed")
	}
	if got := h.secret("sales-token"); got.ResourceVersion != s.ResourceVersion {
		t.Errorf("the Secret was written although nothing changed")
	}
}

func TestRestartDoesNotMintANewToken(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	next := h.get("sales").Status.NextRefreshTime.Time

	h.restartOperator()
	h.advanceTo(epoch.Add(2 * time.Minute))
	res := h.reconcile("sales")

	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests after a restart, want the stored token reused (1 in all)", n)
	}
	if n := h.sim.CountRequests(func(r simulator.Request) bool { return r.Host == envHost && r.Path == "/api/data/v9.2/" }); n != 1 {
		t.Errorf("%d discovery requests, want the authority from status reused (1 in all)", n)
	}
	if want := next.Sub(h.clock.Now()); res.RequeueAfter != want && res.RequeueAfter > want {
		t.Errorf("requeued after %v, want at the stored refresh time (%v)", res.RequeueAfter, want)
	}
}

// Connections sharing an identity share its token and the WhoAmI that checks it: one token
// request and one WhoAmI per token, however many connections hold it.
func TestSharedIdentityMakesOneTokenRequest(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	names := []string{"a", "b", "c", "d", "e"}
	for _, n := range names {
		h.connection(n)
		h.reconcile(n)
	}
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests for %d connections sharing one identity, want 1", n, len(names))
	}
	if n := h.whoAmIRequests(); n != 1 {
		t.Errorf("%d WhoAmI calls for %d connections holding one token, want 1", n, len(names))
	}
	for _, n := range names {
		if c := h.condition(n, v1alpha1.ConditionHealthy); c.Status != metav1.ConditionTrue || h.get(n).Status.Identity == nil {
			t.Errorf("%s: Healthy = %s (%s), identity %v; want every connection told the shared answer", n, c.Status, c.Message, h.get(n).Status.Identity)
		}
	}
	// At the latest refresh time of all, every connection has been refreshed with one request.
	var latest time.Time
	for _, n := range names {
		if at := h.get(n).Status.NextRefreshTime.Time; at.After(latest) {
			latest = at
		}
	}
	h.advanceTo(latest)
	for _, n := range names {
		h.reconcile(n)
	}
	if n := h.tokenRequests(); n != 2 {
		t.Errorf("%d token requests after one refresh wave, want 2", n)
	}
	if n := h.whoAmIRequests(); n != 2 {
		t.Errorf("%d WhoAmI calls after one refresh wave, want 2 (one per token)", n)
	}
}

func TestSuspendStopsCallsAndKeepsTheSecret(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	conn := h.get("sales")
	conn.Spec.Suspend = true
	if err := env.Client.Update(h.ctx, conn); err != nil {
		t.Fatal(err)
	}
	requests := len(h.sim.Requests())

	h.advanceTo(conn.Status.TokenExpiresAt.Add(time.Minute))
	res := h.reconcile("sales")

	if got := len(h.sim.Requests()); got != requests {
		t.Errorf("%d requests while suspended", got-requests)
	}
	if res.RequeueAfter != 0 {
		t.Errorf("a suspended connection is requeued after %v", res.RequeueAfter)
	}
	if h.secret("sales-token") == nil {
		t.Error("the Secret was removed while suspended")
	}
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Reason != v1alpha1.ReasonSuspended || !strings.Contains(c.Message, "sales-token") {
		t.Errorf("Ready = %s/%s (%s), want the Suspended reason naming the Secret", c.Status, c.Reason, c.Message)
	}
}

func TestRequestedAtAnnotationForcesARefresh(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	old := string(h.secret("sales-token").Data["access_token"])

	conn := h.get("sales")
	conn.Annotations = map[string]string{v1alpha1.AnnotationRequestedAt: "2026-11-21T10:05:00Z"}
	if err := env.Client.Update(h.ctx, conn); err != nil {
		t.Fatal(err)
	}
	h.advanceTo(epoch.Add(5 * time.Minute))
	h.reconcile("sales")
	h.reconcile("sales") // handled once, not on every reconcile

	if n := h.tokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2 (one forced)", n)
	}
	if got := string(h.secret("sales-token").Data["access_token"]); got == old {
		t.Error("the token was not replaced")
	}
	if got := h.get("sales").Status.LastHandledRequestedAt; got != "2026-11-21T10:05:00Z" {
		t.Errorf("lastHandledRequestedAt = %q", got)
	}
}

func TestRotatedClientSecretIsUsed(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")

	rotated := "rotated-" + clientSecret
	h.sim.SetAppSecrets(tenantID, clientID, simulator.Secret{Value: rotated})
	s := h.secret("d365-app")
	s.Data["client-secret"] = []byte(rotated)
	if err := env.Client.Update(h.ctx, s); err != nil {
		t.Fatal(err)
	}
	h.advanceTo(epoch.Add(time.Minute))
	h.reconcile("sales")

	if c := h.condition("sales", v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Fatalf("Ready = %s (%s: %s) after rotation", c.Status, c.Reason, c.Message)
	}
	if n := h.tokenRequests(); n != 2 {
		t.Errorf("%d token requests, want a new token minted with the rotated secret", n)
	}
}

func TestHealthChecksAtRestCallWhoAmIWithoutWriting(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	conn := h.get("sales")

	h.advanceTo(epoch.Add(defaultHealthInterval + time.Second))
	res := h.reconcile("sales")

	if n := h.whoAmIRequests(); n != 2 {
		t.Errorf("%d WhoAmI calls, want one more after the interval", n)
	}
	if got := h.get("sales"); got.ResourceVersion != conn.ResourceVersion {
		t.Error("a passing health check that changed nothing wrote the status")
	}
	if res.RequeueAfter > defaultHealthInterval || res.RequeueAfter < defaultHealthInterval-defaultHealthInterval/10 {
		t.Errorf("requeued after %v, want the next check in %v (made earlier by up to a tenth by jitter)", res.RequeueAfter, defaultHealthInterval)
	}
	// Still failing the other way round: a change of outcome is written at once.
	h.sim.RemoveApplicationUser(envHost, clientID)
	h.advanceTo(epoch.Add(2*defaultHealthInterval + 2*time.Second))
	h.reconcile("sales")
	if c := h.condition("sales", v1alpha1.ConditionHealthy); c.Reason != v1alpha1.ReasonApplicationUserNotFound {
		t.Errorf("Healthy reason %s, want ApplicationUserNotFound", c.Reason)
	}
}

func TestARefreshWritesTheStatusOnce(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	// Sub-second times, as with a real clock: the Secret keeps whole seconds, the token
	// provider does not, and the refresh must not take the old token for a new one.
	h.advanceTo(epoch.Add(999 * time.Millisecond))
	h.reconcile("sales")
	before := h.get("sales")

	h.advanceTo(before.Status.NextRefreshTime.Time)
	res := h.reconcile("sales")
	after := h.get("sales")
	h.advanceTo(h.clock.Now().Add(res.RequeueAfter))
	h.reconcile("sales")

	if n := h.tokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
	if got := h.get("sales"); got.ResourceVersion != after.ResourceVersion {
		t.Error("the status was written again after the refresh")
	}
	if res.RequeueAfter < time.Minute {
		t.Errorf("requeued after %v: the refresh did not complete in one reconcile", res.RequeueAfter)
	}
}
