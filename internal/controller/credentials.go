package controller

import (
	"context"
	"fmt"
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
	case auth.ClientCertificate != nil:
		return r.resolveClientCertificate(ctx, conn)
	case auth.WorkloadIdentity != nil:
		return r.resolveWorkloadIdentity(ctx, conn)
	case auth.UsernamePassword != nil:
		return r.resolveUsernamePassword(ctx, conn)
	case auth.Delegated != nil:
		return r.resolveDelegated(ctx, conn)
	default:
		// The CRD's validation requires exactly one member; an operator older than the CRD
		// may meet a member it does not know.
		return credential{}, terminal(v1alpha1.ReasonAuthModeNotSupported,
			"spec.auth sets no sign-in method this operator version knows: set one of clientSecret, clientCertificate, workloadIdentity, usernamePassword, delegated")
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
	raw, serr := r.secretRaw(ctx, conn, ref, field)
	if serr != nil {
		return "", serr
	}
	return strings.TrimSpace(raw), nil
}

// secretRaw reads one key of a Secret in the connection's namespace as it is; a key that
// is missing or holds only white space is an error naming the key.
func (r *D365ConnectionReconciler) secretRaw(ctx context.Context, conn *v1alpha1.D365Connection, ref v1alpha1.SecretKeyRef, field string) (string, *stepError) {
	data, serr := r.secretData(ctx, conn, ref.Name, field, fmt.Sprintf("with key %q", ref.Key))
	if serr != nil {
		return "", serr
	}
	value := string(data[ref.Key])
	if strings.TrimSpace(value) == "" {
		return "", terminal(v1alpha1.ReasonSecretKeyNotFound,
			"Secret %q (%s) has no non-empty key %q: add the key or fix %s.key", ref.Name, field, ref.Key, field)
	}
	return value, nil
}

// secretData reads a whole Secret of the connection's namespace; want says what the Secret
// should hold, for the message when it does not exist.
func (r *D365ConnectionReconciler) secretData(ctx context.Context, conn *v1alpha1.D365Connection, name, field, want string) (map[string][]byte, *stepError) {
	data, err := r.secrets.get(ctx, types.NamespacedName{Namespace: conn.Namespace, Name: name})
	if apierrors.IsNotFound(err) {
		return nil, terminal(v1alpha1.ReasonSecretNotFound,
			"Secret %q (%s) not found in namespace %q: create it %s", name, field, conn.Namespace, want)
	}
	if err != nil {
		return nil, &stepError{Reason: v1alpha1.ReasonSecretNotFound, Message: "Reading Secret " + name + " (" + field + "): " + err.Error()}
	}
	return data, nil
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
