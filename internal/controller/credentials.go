package controller

import (
	"context"
	"fmt"
	"reflect"
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

// resolveCredential reads the Secrets the connection's sign-in kind references (same
// namespace only: references have no namespace field) and builds its Entra credential.
// Sets s.cred. Missing Secrets and keys are terminal: the Secret watch retries when they
// appear.
func (r *D365ConnectionReconciler) resolveCredential(ctx context.Context, s *reconcileState) *stepError {
	member, ok := selectedMember(&s.conn.Spec.Auth)
	kind, known := signInKinds[member.name]
	if !ok || !known {
		// The CRD's validation requires exactly one member; an operator older than the CRD
		// may meet a member it does not know.
		return terminal(v1alpha1.ReasonAuthModeNotSupported,
			"spec.auth sets no sign-in method this operator version knows: set one of %s", strings.Join(authMemberNames(), ", "))
	}
	clientID, failed := r.clientID(ctx, s.conn, member)
	if failed != nil {
		return failed
	}
	cred, failed := kind.resolve(r, ctx, s.conn, clientID)
	if failed != nil {
		return failed
	}
	s.cred = credential{ClientID: clientID, Credential: cred}
	return nil
}

// clientID returns the member's literal clientID, or reads its clientIDRef: every sign-in
// kind has the pair, and the CRD requires exactly one of them.
func (r *D365ConnectionReconciler) clientID(ctx context.Context, conn *v1alpha1.D365Connection, member authMember) (string, *stepError) {
	v := member.value.Elem()
	if ref, ok := reflect.TypeAssert[*v1alpha1.SecretKeyRef](v.FieldByName("ClientIDRef")); ok && ref != nil {
		return r.secretValue(ctx, conn, *ref, "auth."+member.name+".clientIDRef")
	}
	return v.FieldByName("ClientID").String(), nil
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

// optionalSecretValue is secretValue for an optional reference: "" when ref is nil.
func (r *D365ConnectionReconciler) optionalSecretValue(ctx context.Context, conn *v1alpha1.D365Connection, ref *v1alpha1.SecretKeyRef, field string) (string, *stepError) {
	if ref == nil {
		return "", nil
	}
	return r.secretValue(ctx, conn, *ref, field)
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
