package controller

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// credential is what a connection signs in with, resolved from its Secrets.
type credential struct {
	ClientID   string
	Credential entra.Credential
}

// resolveCredential reads the Secrets the connection's auth member references (same
// namespace only: references have no namespace field) and builds the Entra credential.
// Missing Secrets and keys are terminal: the Secret watch retries when they appear.
func (r *D365ConnectionReconciler) resolveCredential(ctx context.Context, conn *v1alpha1.D365Connection) (credential, *stepError) {
	auth := conn.Spec.Auth
	switch {
	case auth.ClientSecret != nil:
		cs := auth.ClientSecret
		clientID, serr := r.clientID(ctx, conn, cs.ClientID, cs.ClientIDRef, "auth.clientSecret.clientIDRef")
		if serr != nil {
			return credential{}, serr
		}
		secret, serr := r.secretValue(ctx, conn, cs.ClientSecretRef, "auth.clientSecret.clientSecretRef")
		if serr != nil {
			return credential{}, serr
		}
		return credential{ClientID: clientID, Credential: entra.ClientSecret(secret)}, nil
	default:
		return credential{}, terminal(v1alpha1.ReasonAuthModeNotSupported,
			"This operator version signs in with auth.clientSecret only; %s is accepted by the API but not yet acquired. Use auth.clientSecret for now", authKind(auth))
	}
}

// clientID returns the literal client id or reads it from its Secret.
func (r *D365ConnectionReconciler) clientID(ctx context.Context, conn *v1alpha1.D365Connection, literal string, ref *v1alpha1.SecretKeyRef, field string) (string, *stepError) {
	if ref == nil {
		return literal, nil
	}
	return r.secretValue(ctx, conn, *ref, field)
}

// secretValue reads one key of a Secret in the connection's namespace. Surrounding white
// space is dropped: a value created with `kubectl create secret --from-file` often ends
// in a newline that Entra ID would reject as a wrong secret.
func (r *D365ConnectionReconciler) secretValue(ctx context.Context, conn *v1alpha1.D365Connection, ref v1alpha1.SecretKeyRef, field string) (string, *stepError) {
	data, err := r.secrets.get(ctx, types.NamespacedName{Namespace: conn.Namespace, Name: ref.Name})
	if apierrors.IsNotFound(err) {
		return "", terminal(v1alpha1.ReasonSecretNotFound,
			"Secret %q (%s) not found in namespace %q: create it with key %q", ref.Name, field, conn.Namespace, ref.Key)
	}
	if err != nil {
		return "", &stepError{Reason: v1alpha1.ReasonSecretNotFound, Message: "Reading Secret " + ref.Name + " (" + field + "): " + err.Error()}
	}
	value := strings.TrimSpace(string(data[ref.Key]))
	if value == "" {
		return "", terminal(v1alpha1.ReasonSecretKeyNotFound,
			"Secret %q (%s) has no non-empty key %q: add the key or fix %s.key", ref.Name, field, ref.Key, field)
	}
	return value, nil
}

// authKind names the auth member that is set, for messages.
func authKind(a v1alpha1.AuthSpec) string {
	switch {
	case a.ClientSecret != nil:
		return "auth.clientSecret"
	case a.ClientCertificate != nil:
		return "auth.clientCertificate"
	case a.WorkloadIdentity != nil:
		return "auth.workloadIdentity"
	case a.UsernamePassword != nil:
		return "auth.usernamePassword"
	case a.Delegated != nil:
		return "auth.delegated"
	}
	return "auth (none set)"
}

// referencedSecrets lists the names of all Secrets a connection reads, for the index
// that maps a changed Secret back to its connections.
func referencedSecrets(conn *v1alpha1.D365Connection) []string {
	var names []string
	add := func(name string) {
		if name != "" {
			names = append(names, name)
		}
	}
	addRef := func(ref *v1alpha1.SecretKeyRef) {
		if ref != nil {
			add(ref.Name)
		}
	}
	a := conn.Spec.Auth
	if cs := a.ClientSecret; cs != nil {
		addRef(cs.ClientIDRef)
		add(cs.ClientSecretRef.Name)
	}
	if cc := a.ClientCertificate; cc != nil {
		addRef(cc.ClientIDRef)
		add(cc.CertificateRef.Name)
	}
	if wi := a.WorkloadIdentity; wi != nil {
		addRef(wi.ClientIDRef)
	}
	if up := a.UsernamePassword; up != nil {
		addRef(up.ClientIDRef)
		addRef(up.ClientSecretRef)
		add(up.UsernameRef.Name)
		add(up.PasswordRef.Name)
	}
	if d := a.Delegated; d != nil {
		addRef(d.ClientIDRef)
		addRef(d.ClientSecretRef)
		add(d.TokenCacheRef.Name)
	}
	return names
}
