package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

func TestAllowsNamespace(t *testing.T) {
	sales := &metav1.LabelSelector{MatchLabels: map[string]string{"sales": "true"}}
	cases := []struct {
		name    string
		allowed v1alpha1.AllowedNamespaces
		ns      string
		labels  map[string]string
		want    bool
	}{
		{"nothing allows nothing", v1alpha1.AllowedNamespaces{}, "team-a", nil, false},
		{"by name", v1alpha1.AllowedNamespaces{Names: []string{"team-a"}}, "team-a", nil, true},
		{"another name", v1alpha1.AllowedNamespaces{Names: []string{"team-a"}}, "team-b", nil, false},
		{"by label", v1alpha1.AllowedNamespaces{Selector: sales}, "team-b", map[string]string{"sales": "true"}, true},
		{"label missing", v1alpha1.AllowedNamespaces{Selector: sales}, "team-b", map[string]string{"sales": "false"}, false},
		{"empty selector allows all", v1alpha1.AllowedNamespaces{Selector: &metav1.LabelSelector{}}, "any", nil, true},
	}
	for _, c := range cases {
		got, err := allowsNamespace(c.allowed, c.ns, c.labels)
		if err != nil || got != c.want {
			t.Errorf("%s: allowsNamespace = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Sometimes"}}}
	if _, err := allowsNamespace(v1alpha1.AllowedNamespaces{Selector: bad}, "x", nil); err == nil {
		t.Error("an unusable selector allowed or refused without an error")
	}
}

func TestAllowedSummary(t *testing.T) {
	cases := map[string]v1alpha1.AllowedNamespaces{
		"none":                    {},
		"team-a,team-b":           {Names: []string{"team-a", "team-b"}},
		"team-a,selector sales=1": {Names: []string{"team-a"}, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"sales": "1"}}},
		"every namespace":         {Selector: &metav1.LabelSelector{}},
	}
	for want, allowed := range cases {
		if got := allowedSummary(allowed); got != want {
			t.Errorf("allowedSummary(%+v) = %q, want %q", allowed, got, want)
		}
	}
}

// A connection's reference that names a namespace (written before the CRD rule, or through
// an older CRD) is refused at run time too; an identity's defaults to its namespace.
func TestSignInSourceSecretKey(t *testing.T) {
	conn := signInSource{namespace: "team-a"}
	if _, failed := conn.secretKey("app", "platform", "auth.clientSecret.clientSecretRef"); failed == nil || failed.Reason != v1alpha1.ReasonSecretNotFound {
		t.Errorf("a connection's reference to another namespace: %v, want refused", failed)
	}
	if key, failed := conn.secretKey("app", "", "f"); failed != nil || key.String() != "team-a/app" {
		t.Errorf("a connection's reference = %v, %v; want team-a/app", key, failed)
	}
	identity := signInSource{namespace: "d365-system", identity: "sales"}
	if key, failed := identity.secretKey("app", "", "f"); failed != nil || key.String() != "d365-system/app" {
		t.Errorf("an identity's reference = %v, %v; want d365-system/app", key, failed)
	}
	if key, failed := identity.secretKey("app", "vault", "f"); failed != nil || key.String() != "vault/app" {
		t.Errorf("an identity's reference with a namespace = %v, %v; want vault/app", key, failed)
	}
	if _, failed := (signInSource{identity: "sales"}).secretKey("app", "", "f"); failed == nil {
		t.Error("an identity's reference without --cluster-resource-namespace resolved")
	}
}
