package controller

import (
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// One ClusterD365Identity serves the namespaces it allows, through the watches alone: one
// token request for all of them, none for a namespace it does not allow until that
// namespace is labelled, rotation reaching every connection, a refused secret reported on the
// identity and on each connection, a namespace taken off the list losing access, and a
// deleted identity leaving the tokens in place.
func TestClusterIdentityServesTheNamespacesItAllows(t *testing.T) {
	h := newHarness(t)
	h.usePlatformNamespace()
	teamA := h.teamNamespace("a", nil)
	teamB := h.teamNamespace("b", map[string]string{"d365.operators.dev/sales": "true"})
	teamC := h.teamNamespace("c", nil)
	h.appSecret(clientSecret) // in the platform namespace
	id := h.clusterIdentity("sales", func(id *v1alpha1.ClusterD365Identity) {
		id.Spec.AllowedNamespaces = v1alpha1.AllowedNamespaces{Names: []string{teamA},
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"d365.operators.dev/sales": "true"}}}
	})
	h.startManagerIn(h.ns, teamA, teamB, teamC)

	// 1. Two allowed namespaces share one token request; the third gets none and says why.
	h.identityConnection(teamA, "orders", id)
	h.identityConnection(teamB, "invoices", id)
	h.identityConnection(teamC, "intruder", id)
	h.eventuallyReady([2]string{teamA, "orders"}, [2]string{teamB, "invoices"})
	notAllowed := h.eventuallyReason(teamC, "intruder", v1alpha1.ReasonIdentityNotAllowed)
	h.mentions("intruder", notAllowed.Message, id, teamC, "allowedNamespaces")
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1 shared by both allowed namespaces", n)
	}
	if a, b := h.tokenIn(teamA, "orders"), h.tokenIn(teamB, "invoices"); a == "" || a != b {
		t.Error("the two namespaces' output Secrets do not hold the one shared token")
	}
	h.eventually("the identity's status", func() bool {
		st := h.identityStatus(id)
		return st.Connections == 3 && h.identityReady(id).Reason == v1alpha1.ReasonCredentialAccepted
	})
	if st := h.identityStatus(id); !strings.Contains(st.AllowedNamespaces, teamA) || !strings.Contains(st.AllowedNamespaces, "selector") {
		t.Errorf("status.allowedNamespaces = %q, want the name and the selector", st.AllowedNamespaces)
	}

	// 2. Labelling the third namespace lets it in at once, with the token already held.
	patchLabels(t, h, teamC, map[string]string{"d365.operators.dev/sales": "true"})
	h.eventuallyReady([2]string{teamC, "intruder"})
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests after labelling, want the held token shared", n)
	}

	// 3. Rotating the identity's Secret reaches every connection with one token request.
	before := h.tokenIn(teamA, "orders")
	rotated := "rotated-" + clientSecret
	h.sim.SetAppSecrets(tenantID, clientID, simulatorSecret(rotated))
	h.updateAppSecret(rotated)
	h.eventually("every connection holds a token minted with the rotated secret", func() bool {
		a := h.tokenIn(teamA, "orders")
		return a != before && a == h.tokenIn(teamB, "invoices") && a == h.tokenIn(teamC, "intruder")
	})
	if n := h.tokenRequests(); n != 2 {
		t.Errorf("%d token requests after rotation, want 2 (one per identity and environment)", n)
	}

	// 4. A secret Entra ID refuses shows on the identity and on each connection, by name.
	h.updateAppSecret("wrong-" + clientSecret)
	refused := h.eventuallyReason(teamA, "orders", v1alpha1.ReasonInvalidClientSecret)
	h.mentions("orders", refused.Message, id, "stays valid until")
	h.eventually("the identity reports the refusal", func() bool {
		st := h.identityStatus(id)
		return h.identityReady(id).Reason == v1alpha1.ReasonInvalidClientSecret && st.LastFailure != nil && st.LastFailure.Code == "AADSTS7000215"
	})

	// 5. Taking a namespace off allowedNamespaces reaches its connection at once.
	current := &v1alpha1.ClusterD365Identity{}
	if err := env.Client.Get(h.ctx, types.NamespacedName{Name: id}, current); err != nil {
		t.Fatal(err)
	}
	current.Spec.AllowedNamespaces.Names = nil
	if err := env.Client.Update(h.ctx, current); err != nil {
		t.Fatal(err)
	}
	h.eventuallyReason(teamA, "orders", v1alpha1.ReasonIdentityNotAllowed)

	// 6. Deleting the identity leaves the last good tokens in place, and says so.
	held := h.tokenIn(teamB, "invoices")
	if err := env.Client.Delete(h.ctx, &v1alpha1.ClusterD365Identity{ObjectMeta: metav1.ObjectMeta{Name: id}}); err != nil {
		t.Fatal(err)
	}
	gone := h.eventuallyReason(teamB, "invoices", v1alpha1.ReasonIdentityNotFound)
	h.mentions("invoices", gone.Message, id, "stays valid until")
	if h.tokenIn(teamB, "invoices") != held {
		t.Error("the output Secret lost its token when the identity was deleted")
	}
}

// patchLabels merges labels into a namespace.
func patchLabels(t *testing.T, h *harness, namespace string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{}
	if err := env.Client.Get(h.ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
		t.Fatal(err)
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	maps.Copy(ns.Labels, labels)
	if err := env.Client.Update(h.ctx, ns); err != nil {
		t.Fatal(err)
	}
}

// updateAppSecret replaces the client secret in Secret "d365-app" of the harness namespace.
func (h *harness) updateAppSecret(value string) {
	h.t.Helper()
	s := h.secret("d365-app")
	s.Data["client-secret"] = []byte(value)
	if err := env.Client.Update(h.ctx, s); err != nil {
		h.t.Fatal(err)
	}
}
