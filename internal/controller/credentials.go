package controller

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// credential is what a connection signs in with, resolved from its Secrets.
type credential struct {
	ClientID   string
	Credential entra.Credential
}

// resolveCredential reads the Secrets the sign-in source's kind references (a connection's:
// its own namespace only; an identity's: the namespaces it names) and builds its Entra
// credential. Sets s.cred. Missing Secrets and keys are terminal: the Secret watch retries
// when they appear.
func (r *D365ConnectionReconciler) resolveCredential(ctx context.Context, s *reconcileState) *stepError {
	member, ok := selectedMember(s.source.auth)
	kind, known := signInKinds[member.name]
	if !ok || !known {
		// The CRD's validation requires exactly one member; an operator older than the CRD
		// may meet a member it does not know.
		return terminal(v1alpha1.ReasonAuthModeNotSupported,
			"%s sets no sign-in method this operator version knows: set one of %s", strings.TrimSuffix(s.source.field(""), "."), strings.Join(authMemberNames(), ", "))
	}
	if failed := r.readClientID(ctx, s, member); failed != nil {
		return failed
	}
	cred, failed := kind.resolve(r, ctx, s)
	if failed != nil {
		return failed
	}
	s.cred = credential{ClientID: s.clientID.value, Credential: cred}
	return nil
}

// readClientID sets s.clientID from the member's literal clientID, or reads its
// clientIDRef: every sign-in kind has the pair, and the CRD requires exactly one of them.
// A client ID read from a Secret must be a GUID, and is named by where it came from, never
// by its value: a connection author who may not read Secrets learns nothing of them.
func (r *D365ConnectionReconciler) readClientID(ctx context.Context, s *reconcileState, member authMember) *stepError {
	v := member.value.Elem()
	ref, ok := reflect.TypeAssert[*v1alpha1.SecretKeyRef](v.FieldByName("ClientIDRef"))
	if !ok || ref == nil {
		literal := v.FieldByName("ClientID").String()
		s.clientID = clientIDOf{value: literal, shown: literal}
		return nil
	}
	field := s.source.field(member.name + ".clientIDRef")
	value, failed := r.secretValue(ctx, s, *ref, field)
	if failed != nil {
		return failed
	}
	secret, _ := s.source.secretKey(ref.Name, ref.Namespace, field)
	if !isGUID(value) {
		return terminal(v1alpha1.ReasonInvalidClientID,
			"Secret %q key %q (%s) does not hold an application (client) ID: it must be a GUID, 8-4-4-4-12 hexadecimal digits (the value is not shown: it comes from a Secret)",
			ref.Name, ref.Key, field)
	}
	s.clientID = clientIDOf{value: value, shown: fmt.Sprintf("the client ID in Secret %q key %q", ref.Name, ref.Key), ref: ref, secret: secret}
	return nil
}

// clientIDOf is the connection's client ID and how messages name it.
type clientIDOf struct {
	value string
	// shown is the ID itself when the spec names it, else where it is read from.
	shown string
	// ref is the Secret key it is read from, and secret where that Secret is; nil for a literal.
	ref    *v1alpha1.SecretKeyRef
	secret types.NamespacedName
}

// guidPattern is the form of an application (client) ID, as the CRD checks a literal one.
var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidPattern.MatchString(s) }

// secretValue reads one key of a Secret in the connection's namespace. Surrounding white
// space is dropped: a value created with `kubectl create secret --from-file` often ends
// in a newline that Entra ID would reject as a wrong secret.
func (r *D365ConnectionReconciler) secretValue(ctx context.Context, s *reconcileState, ref v1alpha1.SecretKeyRef, field string) (string, *stepError) {
	raw, serr := r.secretRaw(ctx, s, ref, field)
	if serr != nil {
		return "", serr
	}
	value := strings.TrimSpace(raw)
	s.rememberSecretValue(value, ref)
	return value, nil
}

// optionalSecretValue is secretValue for an optional reference: "" when ref is nil.
func (r *D365ConnectionReconciler) optionalSecretValue(ctx context.Context, s *reconcileState, ref *v1alpha1.SecretKeyRef, field string) (string, *stepError) {
	if ref == nil {
		return "", nil
	}
	return r.secretValue(ctx, s, *ref, field)
}

// secretRaw reads one key of a Secret in the connection's namespace as it is; a key that
// is missing or holds only white space is an error naming the key.
func (r *D365ConnectionReconciler) secretRaw(ctx context.Context, s *reconcileState, ref v1alpha1.SecretKeyRef, field string) (string, *stepError) {
	data, serr := r.secretData(ctx, s, v1alpha1.SecretRef{Name: ref.Name, Namespace: ref.Namespace}, []string{ref.Key}, field, fmt.Sprintf("with key %q", ref.Key))
	if serr != nil {
		return "", serr
	}
	value := string(data[ref.Key])
	if strings.TrimSpace(value) == "" {
		return "", terminal(v1alpha1.ReasonSecretKeyNotFound,
			"Secret %q (%s) has no non-empty key %q: add the key or fix %s.key", ref.Name, field, ref.Key, field)
	}
	s.rememberSecretValue(value, ref)
	return value, nil
}

// secretData reads the given keys of a referenced Secret (see signInSource.secretKey for
// its namespace); want says what the Secret should hold, for the message when it does not
// exist.
func (r *D365ConnectionReconciler) secretData(ctx context.Context, s *reconcileState, ref v1alpha1.SecretRef, keys []string, field, want string) (map[string][]byte, *stepError) {
	key, failed := s.source.secretKey(ref.Name, ref.Namespace, field)
	if failed != nil {
		return nil, failed
	}
	if r.SecretNamespaces != nil && !r.SecretNamespaces[key.Namespace] {
		// Only an identity names a namespace; outside the watched ones the operator has
		// neither a cache nor RBAC there.
		return nil, terminal(v1alpha1.ReasonSecretNotFound,
			"Secret %q (%s) is in namespace %q, which this operator does not watch (--watch-namespaces, --cluster-resource-namespace %q): keep the identity's Secrets in %q, or watch that namespace",
			key.Name, field, key.Namespace, r.ClusterResourceNamespace, r.ClusterResourceNamespace)
	}
	data, err := r.secrets.get(ctx, key, keys, func(asked []string) []string { return r.keysReferenced(ctx, key, asked) })
	if apierrors.IsNotFound(err) {
		return nil, terminal(v1alpha1.ReasonSecretNotFound,
			"Secret %q (%s) not found in namespace %q: create it %s", key.Name, field, key.Namespace, want)
	}
	if err != nil {
		return nil, &stepError{Reason: v1alpha1.ReasonSecretNotFound, Message: "Reading Secret " + key.Name + " (" + field + "): " + apiErrorText(err)}
	}
	return data, nil
}

// keysReferenced is what is kept in memory of a Secret's data: the keys asked for and those
// any connection of its namespace, or any identity, references; nil (all of it) when one
// references the whole Secret (a certificate, a token cache).
func (r *D365ConnectionReconciler) keysReferenced(ctx context.Context, secret types.NamespacedName, asked []string) []string {
	var list v1alpha1.D365ConnectionList
	if err := r.Client.List(ctx, &list, client.InNamespace(secret.Namespace), client.MatchingFields{referencedSecretsIndex: secret.Name}); err != nil {
		return asked
	}
	var identities v1alpha1.ClusterD365IdentityList
	if err := r.Client.List(ctx, &identities, client.MatchingFields{identitySecretsIndex: secret.String()}); err != nil {
		return asked
	}
	keys, whole := slices.Clone(asked), len(asked) == 0
	collect := func(ref types.NamespacedName, key string) {
		switch {
		case ref != secret:
		case key == "":
			whole = true
		default:
			keys = append(keys, key)
		}
	}
	for _, c := range list.Items {
		visitSecretRefs(reflect.ValueOf(c.Spec.Auth), c.Namespace, collect)
	}
	for _, id := range identities.Items {
		visitSecretRefs(reflect.ValueOf(id.Spec.Auth), r.ClusterResourceNamespace, collect)
	}
	if whole {
		return nil
	}
	return keys
}
