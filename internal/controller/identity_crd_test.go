package controller

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// The API server refuses a connection that signs in both ways or neither, names a Secret of
// another namespace in any reference of any sign-in method, or overrides an identity's
// tenant or authority host.
func TestConnectionCRDRefusesAmbiguousOrCrossNamespaceSignIn(t *testing.T) {
	h := newHarness(t)
	withRef := &v1alpha1.IdentityRef{Name: "sales"}
	cases := map[string]struct {
		spec v1alpha1.D365ConnectionSpec
		want string
	}{
		"both":    {v1alpha1.D365ConnectionSpec{Auth: secretAuth(clientID), IdentityRef: withRef}, "set exactly one of auth"},
		"neither": {v1alpha1.D365ConnectionSpec{}, "set exactly one of auth"},
		"tenant":  {v1alpha1.D365ConnectionSpec{IdentityRef: withRef, TenantID: tenantID}, "come from the ClusterD365Identity"},
		"host":    {v1alpha1.D365ConnectionSpec{IdentityRef: withRef, AuthorityHost: "https://login.microsoftonline.us"}, "come from the ClusterD365Identity"},
	}
	// Every reference of every sign-in method, one at a time, with a namespace.
	full := []v1alpha1.AuthSpec{
		{ClientSecret: &v1alpha1.ClientSecretAuth{ClientIDRef: &v1alpha1.SecretKeyRef{Name: "a", Key: "id"}, ClientSecretRef: v1alpha1.SecretKeyRef{Name: "a", Key: "s"}}},
		{ClientCertificate: &v1alpha1.ClientCertificateAuth{ClientIDRef: &v1alpha1.SecretKeyRef{Name: "a", Key: "id"}, CertificateRef: v1alpha1.SecretRef{Name: "c"}}},
		{WorkloadIdentity: &v1alpha1.WorkloadIdentityAuth{ClientIDRef: &v1alpha1.SecretKeyRef{Name: "a", Key: "id"}, ServiceAccountName: "sa"}},
		{UsernamePassword: &v1alpha1.UsernamePasswordAuth{ClientIDRef: &v1alpha1.SecretKeyRef{Name: "a", Key: "id"},
			ClientSecretRef: &v1alpha1.SecretKeyRef{Name: "a", Key: "s"},
			UsernameRef:     v1alpha1.SecretKeyRef{Name: "u", Key: "u"}, PasswordRef: v1alpha1.SecretKeyRef{Name: "u", Key: "p"}}},
		{Delegated: &v1alpha1.DelegatedAuth{ClientIDRef: &v1alpha1.SecretKeyRef{Name: "a", Key: "id"},
			ClientSecretRef: &v1alpha1.SecretKeyRef{Name: "a", Key: "s"}, TokenCacheRef: v1alpha1.SecretRef{Name: "cache"}}},
	}
	refs := 0
	for _, auth := range full {
		h.create(&v1alpha1.D365Connection{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, GenerateName: "valid-"},
			Spec: v1alpha1.D365ConnectionSpec{EnvironmentURL: envURL, Auth: auth}})
		for i := range countRefs(reflect.ValueOf(auth)) {
			copied := *auth.DeepCopy()
			setNamespaceOfRef(reflect.ValueOf(&copied).Elem(), i, "platform")
			cases[fmt.Sprintf("ref %d of %s", i, authKindOf(auth))] = struct {
				spec v1alpha1.D365ConnectionSpec
				want string
			}{v1alpha1.D365ConnectionSpec{Auth: copied}, "Secret references have no namespace"}
			refs++
		}
	}
	if refs != 12 {
		t.Errorf("%d Secret references in the sign-in methods, want 12: update this test and the CRD rule on spec.auth", refs)
	}
	for name, c := range cases {
		c.spec.EnvironmentURL = envURL
		err := env.Client.Create(h.ctx, &v1alpha1.D365Connection{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, GenerateName: "refused-"}, Spec: c.spec})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: create = %v, want refused with %q", name, err, c.want)
		}
	}
}

// countRefs counts the SecretKeyRef and SecretRef values reachable from v.
func countRefs(v reflect.Value) int {
	n := 0
	visitRefValues(v, func(reflect.Value) { n++ })
	return n
}

// setNamespaceOfRef sets the namespace of the i-th reference reachable from v.
func setNamespaceOfRef(v reflect.Value, i int, namespace string) {
	n := 0
	visitRefValues(v, func(ref reflect.Value) {
		if n == i {
			ref.FieldByName("Namespace").SetString(namespace)
		}
		n++
	})
}

// visitRefValues calls visit with each SecretKeyRef and SecretRef value reachable from v.
func visitRefValues(v reflect.Value, visit func(reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			visitRefValues(v.Elem(), visit)
		}
	case reflect.Struct:
		if t := v.Type(); t == reflect.TypeFor[v1alpha1.SecretKeyRef]() || t == reflect.TypeFor[v1alpha1.SecretRef]() {
			visit(v)
			return
		}
		for _, field := range v.Fields() {
			visitRefValues(field, visit)
		}
	}
}

// authKindOf names the member an AuthSpec sets.
func authKindOf(auth v1alpha1.AuthSpec) string {
	m, _ := selectedMember(&auth)
	return m.name
}
