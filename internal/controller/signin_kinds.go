package controller

import (
	"context"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// signInKind is everything the operator knows about one member of spec.auth. A new kind
// takes: its API type (a member of v1alpha1.AuthSpec), its entra credential, one entry in
// signInKinds with its resolver (a credentials_<kind>.go file), its sample, the simulator
// and its docs row. The Secrets it references are found in its API type (secretNames), so
// the watch index cannot forget one; a test fails when a member has no entry.
type signInKind struct {
	// sample is its file in config/samples.
	sample string
	// holds and useWhen are its row in docs/authentication.md: what the cluster keeps, and
	// when to choose it.
	holds, useWhen string
	// resolve reads the kind's Secrets (s.clientID is already read) and builds its credential.
	resolve func(r *D365ConnectionReconciler, ctx context.Context, s *reconcileState) (entra.Credential, *stepError)
}

// signInKinds is keyed by the member's JSON name in spec.auth.
var signInKinds = map[string]signInKind{
	"clientSecret": {
		sample: "d365_v1alpha1_d365connection_clientsecret.yaml",
		holds:  "the app's client secret", useWhen: "the usual service-to-service case",
		resolve: (*D365ConnectionReconciler).resolveClientSecret,
	},
	"clientCertificate": {
		sample:  "d365_v1alpha1_d365connection_clientcertificate.yaml",
		holds:   "a certificate and its RSA key (`kubernetes.io/tls`)",
		useWhen: "your policy forbids client secrets, or cert-manager already issues certificates",
		resolve: (*D365ConnectionReconciler).resolveClientCertificate,
	},
	"workloadIdentity": {
		sample:  "d365_v1alpha1_d365connection_workloadidentity.yaml",
		holds:   "nothing: a ServiceAccount of the namespace",
		useWhen: "the cluster's service account issuer is reachable from the internet (AKS, EKS, GKE, or published)",
		resolve: (*D365ConnectionReconciler).resolveWorkloadIdentity,
	},
	"usernamePassword": {
		sample: "d365_v1alpha1_d365connection_usernamepassword.yaml",
		holds:  "a user's name and password", useWhen: "a legacy integration that must act as a licensed user without MFA",
		resolve: (*D365ConnectionReconciler).resolveUsernamePassword,
	},
	"delegated": {
		sample:  "d365_v1alpha1_d365connection_delegated.yaml",
		holds:   "a user's MSAL token cache (refresh token), written by `d365-operator login`",
		useWhen: "the calls must be made as a person who signs in with MFA",
		resolve: (*D365ConnectionReconciler).resolveDelegated,
	},
}

// authMember is one member of spec.auth: its JSON name and its value (a nil pointer when unset).
type authMember struct {
	name  string
	value reflect.Value
}

// authMembers lists spec.auth's members in the API's order.
func authMembers(auth *v1alpha1.AuthSpec) []authMember {
	v := reflect.ValueOf(auth).Elem()
	members := make([]authMember, 0, v.NumField())
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		members = append(members, authMember{name: name, value: v.Field(i)})
	}
	return members
}

// selectedMember is the member spec.auth sets; ok is false when it sets none.
func selectedMember(auth *v1alpha1.AuthSpec) (authMember, bool) {
	for _, m := range authMembers(auth) {
		if !m.value.IsNil() {
			return m, true
		}
	}
	return authMember{}, false
}

// authMemberNames lists the members' JSON names, for messages.
func authMemberNames() []string {
	members := authMembers(&v1alpha1.AuthSpec{})
	names := make([]string, 0, len(members))
	for _, m := range members {
		names = append(names, m.name)
	}
	return names
}

// referencedSecrets lists the names of all Secrets a connection reads, for the index
// that maps a changed Secret back to its connections.
func referencedSecrets(conn *v1alpha1.D365Connection) []string {
	var names []string
	visitSecretRefs(reflect.ValueOf(conn.Spec.Auth), conn.Namespace, func(secret types.NamespacedName, _ string) {
		// A reference to another namespace is refused (signInSource.secretKey): it must not
		// make a change there reconcile this connection.
		if secret.Name != "" && secret.Namespace == conn.Namespace {
			names = append(names, secret.Name)
		}
	})
	return names
}

// visitSecretRefs calls visit with the Secret (its namespace defaulting to namespace) and key
// of every SecretKeyRef in v, and with the Secret and "" (the whole Secret) of every
// SecretRef.
func visitSecretRefs(v reflect.Value, namespace string, visit func(secret types.NamespacedName, key string)) {
	in := func(ns string) string {
		if ns == "" {
			return namespace
		}
		return ns
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			visitSecretRefs(v.Elem(), namespace, visit)
		}
	case reflect.Struct:
		switch ref := v.Interface().(type) {
		case v1alpha1.SecretKeyRef:
			visit(types.NamespacedName{Namespace: in(ref.Namespace), Name: ref.Name}, ref.Key)
			return
		case v1alpha1.SecretRef:
			visit(types.NamespacedName{Namespace: in(ref.Namespace), Name: ref.Name}, "")
			return
		}
		for _, field := range v.Fields() {
			visitSecretRefs(field, namespace, visit)
		}
	}
}
