package controller

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/simulator"
)

// clusterIssuer reads the test API server's ServiceAccount issuer and signing keys from its
// OIDC discovery endpoints, as Entra ID reads a cluster's for a federated credential.
func clusterIssuer(t *testing.T) (issuer, jwks string) {
	t.Helper()
	hc, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) []byte {
		resp, err := hc.Get(strings.TrimSuffix(env.Config.Host, "/") + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return body
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(get("/.well-known/openid-configuration"), &doc); err != nil || doc.Issuer == "" {
		t.Fatalf("the API server's OIDC discovery document has no issuer: %v", err)
	}
	return doc.Issuer, string(get("/openid/v1/jwks"))
}

// trustServiceAccount gives the workload identity app a federated credential for ns/name.
func (a *authHarness) trustServiceAccount(ns, name string) {
	issuer, jwks := clusterIssuer(a.t)
	a.sim.SetFederatedCredentials(tenantID, wiClientID, simulator.FederatedCredential{
		Issuer: issuer, Subject: "system:serviceaccount:" + ns + ":" + name, JWKS: jwks})
}

// serviceAccount creates a ServiceAccount that consents to sign-ins as the workload
// identity app (azure.workload.identity/client-id).
func (a *authHarness) serviceAccount(ns, name string) {
	a.create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
		Annotations: map[string]string{AnnotationWorkloadClientID: wiClientID}}})
}

func workloadAuth(serviceAccount string) v1alpha1.AuthSpec {
	return v1alpha1.AuthSpec{WorkloadIdentity: &v1alpha1.WorkloadIdentityAuth{ClientID: wiClientID, ServiceAccountName: serviceAccount}}
}

func TestWorkloadIdentitySignsInWithAServiceAccountTokenAndNoSecret(t *testing.T) {
	a := newAuthHarness(t)
	a.serviceAccount(a.ns, "d365")
	a.trustServiceAccount(a.ns, "d365")
	a.connectionWith("sales", envURL, workloadAuth("d365"))

	a.reconcile("sales")
	claims := a.expectReady("sales")
	if claims.AppID != wiClientID || claims.AppIDACR != "2" {
		t.Errorf("token of app %s with appidacr %s, want %s with a federated assertion (2)", claims.AppID, claims.AppIDACR, wiClientID)
	}
	if n := a.requests(wiClientID, "client_credentials"); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	// Each token request presents a freshly minted token: a forced refresh mints another.
	forceRefresh(a.harness, "sales", "1")
	a.reconcile("sales")
	a.expectReady("sales")
	if n := a.requests(wiClientID, "client_credentials"); n != 2 {
		t.Errorf("%d token requests after a forced refresh, want 2", n)
	}
}

func TestWorkloadIdentityNeverBorrowsAnotherNamespacesServiceAccount(t *testing.T) {
	a := newAuthHarness(t)
	// The ServiceAccount exists in another namespace, and the app even trusts it there: a
	// token minted for it would be accepted. The connection must still not get one.
	other := a.ns + "-other"
	a.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}})
	a.serviceAccount(other, "d365")
	a.trustServiceAccount(other, "d365")
	a.connectionWith("sales", envURL, workloadAuth("d365"))

	a.reconcile("sales")
	a.expectFailure("sales", v1alpha1.ReasonServiceAccountNotFound, `"d365"`, `namespace "`+a.ns+`"`, "kubectl create serviceaccount d365 -n "+a.ns)
	if a.secret("sales-token") != nil {
		t.Error("an output Secret was written")
	}
	if n := a.requests(wiClientID, ""); n != 0 {
		t.Errorf("%d token requests reached Entra ID, want none", n)
	}
	// Only creating the ServiceAccount fixes it, and the ServiceAccount watch says when: the
	// connection is Stalled until then, not retried in a loop.
	if !conditionTrue(a.get("sales"), v1alpha1.ConditionStalled) {
		t.Error("a missing ServiceAccount is not Stalled")
	}

	// Once the namespace has its own ServiceAccount and the app trusts it, the retry works.
	a.serviceAccount(a.ns, "d365")
	a.trustServiceAccount(a.ns, "d365")
	a.reconcile("sales")
	a.expectReady("sales")
}

func TestWorkloadIdentityRefusesTheOperatorsOwnServiceAccount(t *testing.T) {
	a := newAuthHarness(t)
	a.serviceAccount(a.ns, "d365-operator")
	a.trustServiceAccount(a.ns, "d365-operator")

	// The operator learns who it is from the API server; impersonation plays its pod.
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + a.ns + ":d365-operator"}
	asOperator, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	self, err := OperatorServiceAccount(a.ctx, asOperator)
	if want := (types.NamespacedName{Namespace: a.ns, Name: "d365-operator"}); err != nil || self != want {
		t.Fatalf("OperatorServiceAccount = %v, %v; want %v", self, err, want)
	}
	if other, err := OperatorServiceAccount(a.ctx, env.Client); err != nil || other != (types.NamespacedName{}) {
		t.Errorf("OperatorServiceAccount of a non-ServiceAccount user = %v, %v; want zero", other, err)
	}

	d := a.r.Dependencies
	d.OperatorServiceAccount = self
	a.r = New(d)
	a.connectionWith("sales", envURL, workloadAuth("d365-operator"))
	a.reconcile("sales")
	a.expectFailure("sales", v1alpha1.ReasonServiceAccountNotAllowed, "operator's own")
	if n := a.requests(wiClientID, ""); n != 0 {
		t.Errorf("%d token requests reached Entra ID, want none", n)
	}
}

func TestWorkloadIdentityWithoutAFederatedCredentialSaysWhichOneToAdd(t *testing.T) {
	a := newAuthHarness(t)
	a.serviceAccount(a.ns, "d365")
	issuer, _ := clusterIssuer(t)
	a.connectionWith("sales", envURL, workloadAuth("d365"))

	a.reconcile("sales")
	a.expectFailure("sales", v1alpha1.ReasonFederatedCredentialMismatch,
		"AADSTS700211", "issuer "+issuer, "subject system:serviceaccount:"+a.ns+":d365", "api://AzureADTokenExchange", wiClientID)
	if !conditionTrue(a.get("sales"), v1alpha1.ConditionStalled) {
		t.Error("a missing federated credential is not Stalled")
	}
}

// A ServiceAccount lends itself only to the app its azure.workload.identity/client-id
// annotation names: without it, no ServiceAccount token is minted and no token requested.
func TestWorkloadIdentityNeedsTheServiceAccountsConsent(t *testing.T) {
	a := newAuthHarness(t)
	a.create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: a.ns, Name: "d365"}})
	a.trustServiceAccount(a.ns, "d365")
	a.connectionWith("sales", envURL, workloadAuth("d365"))

	a.reconcile("sales")
	a.expectFailure("sales", v1alpha1.ReasonServiceAccountNotConsenting, AnnotationWorkloadClientID+"="+wiClientID,
		"kubectl annotate serviceaccount d365 -n "+a.ns)
	if n := a.requests(wiClientID, ""); n != 0 {
		t.Errorf("%d token requests without the ServiceAccount's consent", n)
	}
	if !conditionTrue(a.get("sales"), v1alpha1.ConditionStalled) {
		t.Error("a ServiceAccount without consent is not Stalled")
	}

	sa := &corev1.ServiceAccount{}
	if err := env.Client.Get(a.ctx, types.NamespacedName{Namespace: a.ns, Name: "d365"}, sa); err != nil {
		t.Fatal(err)
	}
	sa.Annotations = map[string]string{AnnotationWorkloadClientID: "00000000-0000-0000-0000-000000000001"}
	if err := env.Client.Update(a.ctx, sa); err != nil {
		t.Fatal(err)
	}
	a.reconcile("sales")
	a.expectFailure("sales", v1alpha1.ReasonServiceAccountNotConsenting)

	sa.Annotations = map[string]string{AnnotationWorkloadClientID: wiClientID}
	if err := env.Client.Update(a.ctx, sa); err != nil {
		t.Fatal(err)
	}
	a.reconcile("sales")
	a.expectReady("sales")
}

// Annotating the ServiceAccount reaches the connection through the ServiceAccount watch:
// nothing polls, and nothing needs to touch the connection.
func TestServiceAccountConsentIsNoticedAtOnce(t *testing.T) {
	a := newAuthHarness(t)
	a.startManager()
	a.trustServiceAccount(a.ns, "d365")
	a.connectionWith("sales", envURL, workloadAuth("d365"))
	a.eventually("ServiceAccountNotFound", func() bool {
		return a.condition("sales", v1alpha1.ConditionReady).Reason == v1alpha1.ReasonServiceAccountNotFound
	})
	a.create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: a.ns, Name: "d365"}})
	a.eventually("ServiceAccountNotConsenting", func() bool {
		return a.condition("sales", v1alpha1.ConditionReady).Reason == v1alpha1.ReasonServiceAccountNotConsenting
	})
	sa := &corev1.ServiceAccount{}
	if err := env.Client.Get(a.ctx, types.NamespacedName{Namespace: a.ns, Name: "d365"}, sa); err != nil {
		t.Fatal(err)
	}
	sa.Annotations = map[string]string{AnnotationWorkloadClientID: wiClientID}
	if err := env.Client.Update(a.ctx, sa); err != nil {
		t.Fatal(err)
	}
	a.eventually("Ready after the annotation", func() bool {
		return a.condition("sales", v1alpha1.ConditionReady).Status == metav1.ConditionTrue
	})
}
