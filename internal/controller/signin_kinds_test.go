package controller

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// Every member of spec.auth has a registry entry (and no entry lacks a member), whose
// sample exists and uses that member, and whose docs row is in docs/authentication.md.
func TestEveryAuthMemberIsARegisteredSignInKind(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(env.RepoRoot, "docs", "authentication.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := authMemberNames()
	for name := range signInKinds {
		if !slices.Contains(names, name) {
			t.Errorf("signInKinds has %q, which is not a member of spec.auth", name)
		}
	}
	for _, name := range names {
		kind, ok := signInKinds[name]
		if !ok {
			t.Errorf("spec.auth.%s has no entry in signInKinds", name)
			continue
		}
		if kind.resolve == nil {
			t.Errorf("%s has no resolver", name)
		}
		row := "| `" + name + "` | " + kind.holds + " | " + kind.useWhen + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/authentication.md lacks the row %s", row)
		}
		raw, err := os.ReadFile(filepath.Join(env.RepoRoot, "config", "samples", kind.sample)) //nolint:gosec // the repository's own samples
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		conn := &v1alpha1.D365Connection{}
		if err := yaml.UnmarshalStrict(raw, conn); err != nil {
			t.Fatalf("%s: %v", kind.sample, err)
		}
		if m, ok := selectedMember(&conn.Spec.Auth); !ok || m.name != name {
			t.Errorf("sample %s does not sign in with %s", kind.sample, name)
		}
	}
}

// The watch index finds every Secret a kind references, whichever field names it.
func TestReferencedSecretsNamesEveryRef(t *testing.T) {
	ref := func(name string) v1alpha1.SecretKeyRef { return v1alpha1.SecretKeyRef{Name: name, Key: "k"} }
	for _, c := range []struct {
		name string
		auth v1alpha1.AuthSpec
		want []string
	}{
		{"client secret with its id in a Secret", v1alpha1.AuthSpec{ClientSecret: &v1alpha1.ClientSecretAuth{
			ClientIDRef: new(ref("id")), ClientSecretRef: ref("secret")}}, []string{"id", "secret"}},
		{"certificate", v1alpha1.AuthSpec{ClientCertificate: &v1alpha1.ClientCertificateAuth{
			ClientID: clientID, CertificateRef: v1alpha1.SecretRef{Name: "cert"}}}, []string{"cert"}},
		{"workload identity with a literal id", v1alpha1.AuthSpec{WorkloadIdentity: &v1alpha1.WorkloadIdentityAuth{
			ClientID: clientID, ServiceAccountName: "sa"}}, nil},
		{"password with every optional ref", v1alpha1.AuthSpec{UsernamePassword: &v1alpha1.UsernamePasswordAuth{
			ClientIDRef: new(ref("id")), ClientSecretRef: new(ref("cs")), UsernameRef: ref("user"), PasswordRef: ref("pass")}},
			[]string{"id", "cs", "user", "pass"}},
		{"delegated", v1alpha1.AuthSpec{Delegated: &v1alpha1.DelegatedAuth{
			ClientID: clientID, ClientSecretRef: new(ref("cs")), TokenCacheRef: v1alpha1.SecretRef{Name: "cache"}}},
			[]string{"cs", "cache"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := referencedSecrets(&v1alpha1.D365Connection{Spec: v1alpha1.D365ConnectionSpec{Auth: c.auth}})
			if !slices.Equal(got, c.want) {
				t.Errorf("referencedSecrets = %v, want %v", got, c.want)
			}
		})
	}
}
