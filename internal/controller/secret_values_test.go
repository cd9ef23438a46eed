package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// A clientIDRef aimed at another Secret's password must not turn the connection's status
// into a way of reading it: the value is refused as not a GUID, and never shown.
func TestAClientIDRefToAnotherSecretRevealsNothing(t *testing.T) {
	h := newHarness(t)
	const password = "hunter2-the-production-db-password"
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "prod-db"},
		StringData: map[string]string{"password": password, "client-secret": clientSecret}})
	h.connection("sales", func(c *v1alpha1.D365Connection) {
		c.Spec.Auth.ClientSecret.ClientIDRef = &v1alpha1.SecretKeyRef{Name: "prod-db", Key: "password"}
		c.Spec.Auth.ClientSecret.ClientSecretRef = v1alpha1.SecretKeyRef{Name: "prod-db", Key: "client-secret"}
	})
	res := h.reconcile("sales")
	c := h.condition("sales", v1alpha1.ConditionReady)
	if c.Reason != v1alpha1.ReasonInvalidClientID || !strings.Contains(c.Message, `"prod-db"`) || !strings.Contains(c.Message, `"password"`) {
		t.Errorf("Ready = %s (%s), want InvalidClientID naming the Secret and the key", c.Reason, c.Message)
	}
	if s := h.condition("sales", v1alpha1.ConditionStalled); s.Status != metav1.ConditionTrue || res.RequeueAfter != 0 {
		t.Errorf("Stalled = %s, requeue %v: an invalid client ID waits for a change", s.Status, res.RequeueAfter)
	}
	if n := h.tokenRequests(); n != 0 {
		t.Errorf("%d token requests with a value that is no client ID", n)
	}
	// assertNoLeaks (at cleanup) checks that no value of prod-db is in status, events or logs.
}

// A client ID read from a Secret is named by its Secret and key in Entra ID's advice
// (AADSTS700016), never quoted.
func TestAClientIDFromASecretIsNeverQuoted(t *testing.T) {
	h := newHarness(t)
	const unknownApp = "99999999-8888-4777-8666-555555555555"
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "d365-app"},
		StringData: map[string]string{"client-id": unknownApp, "client-secret": clientSecret}})
	h.connection("sales")
	h.reconcile("sales")
	c := h.condition("sales", v1alpha1.ConditionReady)
	if c.Reason != v1alpha1.ReasonApplicationNotFound || !strings.Contains(c.Message, `the client ID in Secret "d365-app" key "client-id"`) {
		t.Errorf("Ready = %s (%s), want ApplicationNotFound naming where the client ID is read from", c.Reason, c.Message)
	}
	if strings.Contains(h.observable(), unknownApp) {
		t.Error("the client ID read from a Secret appears in status, events or logs")
	}
}

// The suggested sign-in command reads a client ID kept in a Secret itself, and quotes what
// it takes from the spec.
func TestLoginCommandNeverHoldsASecretValue(t *testing.T) {
	h := newHarness(t)
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "d365-app"},
		StringData: map[string]string{"client-id": clientID}})
	h.connection("sales", func(c *v1alpha1.D365Connection) {
		c.Spec.Auth = v1alpha1.AuthSpec{Delegated: &v1alpha1.DelegatedAuth{
			ClientIDRef:   &v1alpha1.SecretKeyRef{Name: "d365-app", Key: "client-id"},
			TokenCacheRef: v1alpha1.SecretRef{Name: "alice-signin"},
		}}
	})
	h.reconcile("sales")
	c := h.condition("sales", v1alpha1.ConditionReady)
	want := `--client-id "$(kubectl get secret d365-app -n ` + h.ns + ` -o jsonpath='{.data.client-id}' | base64 -d)"`
	if c.Reason != v1alpha1.ReasonSecretNotFound || !strings.Contains(c.Message, want) {
		t.Errorf("Ready = %s (%s), want SecretNotFound with a login command containing %s", c.Reason, c.Message, want)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"team-a":                           "team-a",
		"https://contoso.crm.dynamics.com": "https://contoso.crm.dynamics.com",
		"a b":                              "'a b'",
		"$(rm -rf ~)":                      "'$(rm -rf ~)'",
		"it's":                             `'it'\''s'`,
		"":                                 "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
