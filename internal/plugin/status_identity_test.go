package plugin

import (
	"testing"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// The status table's IDENTITY column names a ClusterD365Identity, or the auth kind and where
// its client ID comes from.
func TestStatusIdentityColumn(t *testing.T) {
	cases := map[string]v1alpha1.D365ConnectionSpec{
		"cd365i/sales-app": {IdentityRef: &v1alpha1.IdentityRef{Name: "sales-app"}},
		"clientSecret app/client-id": {Auth: v1alpha1.AuthSpec{ClientSecret: &v1alpha1.ClientSecretAuth{
			ClientIDRef: &v1alpha1.SecretKeyRef{Name: "app", Key: "client-id"}}}},
		"-": {},
	}
	for want, spec := range cases {
		if got := identity(&v1alpha1.D365Connection{Spec: spec}); got != want {
			t.Errorf("identity(%+v) = %q, want %q", spec, got, want)
		}
	}
}
