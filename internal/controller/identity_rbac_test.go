package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// An application developer who may write connections and read Secrets in their own
// namespace only, and nothing in the platform namespace, gets a working token through the
// platform's identity, and still cannot read the credential that mints it.
func TestADeveloperWhoCannotReadThePlatformSecretsGetsATokenThroughAnIdentity(t *testing.T) {
	h := newHarness(t)
	h.usePlatformNamespace()
	team := h.teamNamespace("team", nil)
	h.appSecret(clientSecret)
	id := h.clusterIdentity("sales", func(id *v1alpha1.ClusterD365Identity) { id.Spec.AllowedNamespaces.Names = []string{team} })

	const developer = "dev@contoso.example"
	h.create(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "developer"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"d365connections"}, Verbs: []string{"create", "get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
	}})
	h.create(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "developer"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "developer"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: developer}}})
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: developer}
	asDeveloper, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}

	if err := asDeveloper.Get(h.ctx, types.NamespacedName{Namespace: h.ns, Name: "d365-app"}, &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the developer reading the platform's credential: %v, want Forbidden", err)
	}
	conn := &v1alpha1.D365Connection{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "orders"},
		Spec: v1alpha1.D365ConnectionSpec{EnvironmentURL: envURL, IdentityRef: &v1alpha1.IdentityRef{Name: id}}}
	if err := asDeveloper.Create(h.ctx, conn); err != nil {
		t.Fatalf("the developer creating a connection: %v", err)
	}
	reconcileAs(t, h.ctx, h.r, types.NamespacedName{Namespace: team, Name: "orders"})

	out := &corev1.Secret{}
	if err := asDeveloper.Get(h.ctx, types.NamespacedName{Namespace: team, Name: "orders-token"}, out); err != nil {
		t.Fatalf("the developer reading the output Secret: %v", err)
	}
	claims, err := h.sim.VerifyToken(string(out.Data[v1alpha1.SecretKeyAccessToken]))
	if err != nil || claims.AppID != clientID {
		t.Fatalf("the developer's token: claims %+v, %v; want a valid token of app %s", claims, err, clientID)
	}
	if c := h.readyIn(team, "orders"); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s (%s: %s), want True", c.Status, c.Reason, c.Message)
	}
}
