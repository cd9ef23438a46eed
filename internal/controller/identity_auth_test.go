package controller

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// Every sign-in method works through a ClusterD365Identity: its Secrets (and its workload
// identity ServiceAccount) live in the platform namespace, the connection in a team
// namespace, and the identity reports Ready once Entra ID accepted it.
func TestEveryAuthKindSignsInThroughAClusterIdentity(t *testing.T) {
	a := newAuthHarness(t)
	a.usePlatformNamespace()
	team := a.teamNamespace("team", nil)
	a.secretOf("d365-app", map[string]string{"client-secret": clientSecret})
	kinds := map[string]struct {
		prepare func()
		auth    v1alpha1.AuthSpec
		client  string
	}{
		"clientsecret": {func() {}, secretAuth(clientID), clientID},
		"clientcertificate": {func() {
			cert := newRSACert(t, "platform")
			a.sim.SetAppCertificates(tenantID, certClientID, cert.cert)
			a.tlsSecret("platform-cert", cert)
		}, certificateAuth("platform-cert"), certClientID},
		"workloadidentity": {func() {
			// The ServiceAccount is the platform namespace's, and so is the federated subject.
			a.serviceAccount(a.ns, "sales-app")
			a.trustServiceAccount(a.ns, "sales-app")
		}, workloadAuth("sales-app"), wiClientID},
		"usernamepassword": {func() { a.userSecret("user", aliceUPN, alicePassword) }, passwordAuth(publicClientID, false), publicClientID},
		"delegated": {func() { a.loginWithDeviceCode("alice-signin", publicClientID) },
			delegatedAuth(publicClientID, "alice-signin"), publicClientID},
	}
	identities := NewIdentityReconciler(a.r, nil)
	for kind, k := range kinds {
		k.prepare()
		id := a.clusterIdentity(kind, func(id *v1alpha1.ClusterD365Identity) {
			id.Spec.Auth = k.auth
			id.Spec.AllowedNamespaces.Names = []string{team}
		})
		reconcileIdentity(t, a.harness, identities, id)
		if c := a.identityReady(id); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonCredentialResolved {
			t.Errorf("%s: identity Ready = %s (%s: %s), want True CredentialResolved", kind, c.Status, c.Reason, c.Message)
		}

		a.identityConnection(team, kind, id)
		reconcileAs(t, a.ctx, a.r, types.NamespacedName{Namespace: team, Name: kind})
		if c := a.readyIn(team, kind); c.Status != metav1.ConditionTrue {
			t.Fatalf("%s: Ready = %s (%s: %s), want True", kind, c.Status, c.Reason, c.Message)
		}
		claims, err := a.sim.VerifyToken(a.tokenIn(team, kind))
		if err != nil {
			t.Fatalf("%s: the output token does not verify: %v", kind, err)
		}
		if claims.AppID != k.client {
			t.Errorf("%s: token of app %s, want %s", kind, claims.AppID, k.client)
		}
		reconcileIdentity(t, a.harness, identities, id)
		if c := a.identityReady(id); c.Reason != v1alpha1.ReasonCredentialAccepted {
			t.Errorf("%s: identity Ready = %s (%s: %s), want CredentialAccepted", kind, c.Status, c.Reason, c.Message)
		}
	}
}

// A connection in a namespace the identity does not allow gets no token request and says
// what to ask for; an identity that allows nothing says so on its own status.
func TestClusterIdentityAllowsNoNamespaceByDefault(t *testing.T) {
	h := newHarness(t)
	h.usePlatformNamespace()
	team := h.teamNamespace("team", nil)
	h.appSecret(clientSecret)
	id := h.clusterIdentity("closed")
	h.identityConnection(team, "orders", id)
	reconcileAs(t, h.ctx, h.r, types.NamespacedName{Namespace: team, Name: "orders"})
	c := h.readyIn(team, "orders")
	if c.Reason != v1alpha1.ReasonIdentityNotAllowed {
		t.Fatalf("Ready = %s (%s: %s), want IdentityNotAllowed", c.Status, c.Reason, c.Message)
	}
	h.mentions("orders", c.Message, id, team, "no token is requested")
	if n := h.tokenRequests() + h.requestsTo(envHost); n != 0 {
		t.Errorf("%d requests reached Entra ID or the environment, want none", n)
	}
	reconcileIdentity(t, h, NewIdentityReconciler(h.r, nil), id)
	ready := h.identityReady(id)
	h.mentions("identity", ready.Message, "allowedNamespaces is empty")
	if st := h.identityStatus(id); st.AllowedNamespaces != "none" {
		t.Errorf("status.allowedNamespaces = %q, want none", st.AllowedNamespaces)
	}
}

// A credential problem of the identity shows on the identity and on the connection, naming
// the identity and the Secret, never a value.
func TestClusterIdentityCredentialProblemsNameTheIdentity(t *testing.T) {
	h := newHarness(t)
	h.usePlatformNamespace()
	team := h.teamNamespace("team", nil)
	id := h.clusterIdentity("missing", func(id *v1alpha1.ClusterD365Identity) { id.Spec.AllowedNamespaces.Names = []string{team} })
	h.identityConnection(team, "orders", id)
	reconcileAs(t, h.ctx, h.r, types.NamespacedName{Namespace: team, Name: "orders"})
	c := h.readyIn(team, "orders")
	if c.Reason != v1alpha1.ReasonSecretNotFound {
		t.Fatalf("Ready = %s (%s: %s), want SecretNotFound", c.Status, c.Reason, c.Message)
	}
	h.mentions("orders", c.Message, `ClusterD365Identity "`+id+`"`, "d365-app", h.ns)
	reconcileIdentity(t, h, NewIdentityReconciler(h.r, nil), id)
	if ready := h.identityReady(id); ready.Status != metav1.ConditionFalse || ready.Reason != v1alpha1.ReasonSecretNotFound {
		t.Errorf("identity Ready = %s (%s: %s), want False SecretNotFound", ready.Status, ready.Reason, ready.Message)
	}
	if stalled := meta.FindStatusCondition(h.identityStatus(id).Conditions, v1alpha1.ConditionStalled); stalled == nil || stalled.Status != metav1.ConditionTrue {
		t.Errorf("identity Stalled = %v, want True (kstatus reads it)", stalled)
	}
	h.appSecret(clientSecret)
	reconcileIdentity(t, h, NewIdentityReconciler(h.r, nil), id)
	st := h.identityStatus(id)
	if ready := h.identityReady(id); ready.Status != metav1.ConditionTrue || meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionStalled) != nil {
		t.Errorf("after the Secret appeared: conditions %+v, want Ready and not Stalled", st.Conditions)
	}
	if st.ObservedGeneration != 1 {
		t.Errorf("observedGeneration = %d, want 1", st.ObservedGeneration)
	}
}

// reconcileIdentity runs one reconcile of the identity controller.
func reconcileIdentity(t *testing.T, h *harness, r *ClusterD365IdentityReconciler, name string) {
	t.Helper()
	if _, err := r.Reconcile(h.ctx, reconcile.Request{NamespacedName: types.NamespacedName{Name: name}}); err != nil {
		t.Fatalf("reconciling ClusterD365Identity %s: %v", name, err)
	}
}

// An operator that watches some namespaces refuses, by name, an identity's Secret in a
// namespace it does not watch: it has neither a cache nor RBAC there.
func TestClusterIdentitySecretOutsideTheWatchedNamespaces(t *testing.T) {
	h := newHarness(t)
	h.usePlatformNamespace()
	d := h.r.Dependencies
	d.SecretNamespaces = map[string]bool{h.ns: true}
	h.r = New(d)
	id := h.clusterIdentity("elsewhere", func(id *v1alpha1.ClusterD365Identity) {
		id.Spec.Auth.ClientSecret.ClientSecretRef.Namespace = "vault"
		id.Spec.AllowedNamespaces.Names = []string{h.ns}
	})
	h.appSecret(clientSecret)
	h.identityConnection(h.ns, "orders", id)
	h.reconcile("orders")
	c := h.condition("orders", v1alpha1.ConditionReady)
	if c.Reason != v1alpha1.ReasonSecretNotFound {
		t.Fatalf("Ready = %s (%s: %s), want SecretNotFound", c.Status, c.Reason, c.Message)
	}
	h.mentions("orders", c.Message, `"vault"`, "does not watch", id)
}

// A deleted identity leaves the held token in place: the connection says until when, tries
// again before then, and once the token has expired stops saying it is valid.
func TestADeletedIdentityLeavesTheTokenUntilItExpires(t *testing.T) {
	h := newHarness(t)
	h.usePlatformNamespace()
	h.appSecret(clientSecret)
	id := h.clusterIdentity("going", func(id *v1alpha1.ClusterD365Identity) { id.Spec.AllowedNamespaces.Names = []string{h.ns} })
	h.identityConnection(h.ns, "orders", id)
	h.reconcile("orders")
	held := h.tokenIn(h.ns, "orders")
	if held == "" {
		t.Fatalf("no token: %+v", h.condition("orders", v1alpha1.ConditionReady))
	}
	if err := env.Client.Delete(h.ctx, &v1alpha1.ClusterD365Identity{ObjectMeta: metav1.ObjectMeta{Name: id}}); err != nil {
		t.Fatal(err)
	}
	expires := h.get("orders").Status.TokenExpiresAt.Time
	for h.clock.Now().Before(expires) {
		res := h.reconcile("orders")
		c := h.condition("orders", v1alpha1.ConditionReady)
		if c.Reason != v1alpha1.ReasonIdentityNotFound || !strings.Contains(c.Message, "stays valid until") {
			t.Fatalf("before expiry: %s: %s, want IdentityNotFound saying until when the token stays valid", c.Reason, c.Message)
		}
		if res.RequeueAfter <= 0 || h.clock.Now().Add(res.RequeueAfter).After(expires.Add(time.Minute)) {
			t.Fatalf("retry in %s, want one planned by the token's expiry", res.RequeueAfter)
		}
		h.advanceTo(h.clock.Now().Add(res.RequeueAfter))
	}
	if h.tokenIn(h.ns, "orders") != held {
		t.Error("the output Secret lost its token")
	}
	if res := h.reconcile("orders"); res.RequeueAfter != 0 {
		t.Errorf("after expiry: retry in %s, want none (the identity watch retries)", res.RequeueAfter)
	}
	if c := h.condition("orders", v1alpha1.ConditionReady); strings.Contains(c.Message, "stays valid") {
		t.Errorf("after expiry the message still says the token is valid: %s", c.Message)
	}
}
