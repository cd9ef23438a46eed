package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// storedToken is the token an output Secret holds, when it was issued for the connection's
// current identity and environment.
type storedToken struct {
	IssuedAt, ExpiresOn time.Time
	AccessToken         string
}

// targetName is the output Secret's name: spec.target.name or "<name>-token".
func targetName(conn *v1alpha1.D365Connection) string {
	if conn.Spec.Target.Name != "" {
		return conn.Spec.Target.Name
	}
	return conn.Name + "-token"
}

// readTarget returns the output Secret (nil when absent) and the token in it, if that
// token was issued for idHash. Only Secrets labelled as ours (and, in a shard, with the
// shard's label) are in the cache; one missing there is looked for outside it (see
// outputSecretOutsideTheCache), and one the metadata cache has not seen yet surfaces when
// creating it (see adoptSecret).
func (r *D365ConnectionReconciler) readTarget(ctx context.Context, conn *v1alpha1.D365Connection, name, idHash string) (*corev1.Secret, *storedToken, *stepError) {
	key := types.NamespacedName{Namespace: conn.Namespace, Name: name}
	secret := &corev1.Secret{}
	err := r.Client.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) {
		secret, err = r.outputSecretOutsideTheCache(ctx, key)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, &stepError{Reason: v1alpha1.ReasonProgressing, Message: "Reading the output Secret: " + err.Error()}
	}
	if !metav1.IsControlledBy(secret, conn) {
		return nil, nil, conflict(conn, name)
	}
	if secret.Annotations[v1alpha1.AnnotationIdentityHash] != idHash {
		return secret, nil, nil
	}
	issued, err1 := time.Parse(time.RFC3339, secret.Annotations[v1alpha1.AnnotationIssuedAt])
	expires, err2 := time.Parse(time.RFC3339, string(secret.Data[v1alpha1.SecretKeyExpiresAt]))
	token := string(secret.Data[v1alpha1.SecretKeyAccessToken])
	if err1 != nil || err2 != nil || token == "" || !digestMatches(secret, token) {
		return secret, nil, nil
	}
	return secret, &storedToken{IssuedAt: issued, ExpiresOn: expires, AccessToken: token}, nil
}

// ensureSecret makes the output Secret hold s.token. The desired Secret is computed on
// every reconcile from the token already held, and written only when it differs from the
// Secret found: a deleted key, a hand edit or a template change is repaired without a token
// request, and a reconcile that changes nothing writes nothing. After a rename of
// spec.target.name the previous Secret is deleted once the new one holds the token. Sets
// status.targetSecretName, the token times, status.lastHandledRequestedAt and
// Authenticated=True.
func (r *D365ConnectionReconciler) ensureSecret(ctx context.Context, s *reconcileState) *stepError {
	desired, failed := r.desiredSecret(s)
	if failed != nil {
		return failed
	}
	if s.existing == nil || !equality.Semantic.DeepEqual(s.existing, desired) {
		if failed := r.writeSecret(ctx, s, desired); failed != nil {
			return failed
		}
	}
	if s.fresh {
		recordAcquisition(nil)
	}
	if failed := r.deletePreviousSecret(ctx, s); failed != nil {
		return failed
	}
	s.conn.Status.TargetSecretName = s.target
	recordToken(s)
	return nil
}

// deletePreviousSecret deletes the Secret status.targetSecretName names when spec.target.name
// moved away from it, if this connection controls it (a Secret someone else made under
// that name is left alone).
func (r *D365ConnectionReconciler) deletePreviousSecret(ctx context.Context, s *reconcileState) *stepError {
	previous := s.conn.Status.TargetSecretName
	if previous == "" || previous == s.target {
		return nil
	}
	old := &corev1.Secret{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: s.conn.Namespace, Name: previous}, old)
	if apierrors.IsNotFound(err) || err == nil && !metav1.IsControlledBy(old, s.conn) {
		return nil
	}
	if err == nil {
		err = r.Client.Delete(ctx, old, client.Preconditions{UID: &old.UID})
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return &stepError{Reason: v1alpha1.ReasonProgressing, Message: fmt.Sprintf("Deleting the previous output Secret %q: %s", previous, apiErrorText(err))}
	}
	return nil
}

// writeSecret creates or updates the output Secret. Updates carry the cached
// resourceVersion, so a concurrent change is detected (Conflict) rather than overwritten.
func (r *D365ConnectionReconciler) writeSecret(ctx context.Context, s *reconcileState, desired *corev1.Secret) *stepError {
	var err error
	if s.existing == nil {
		err = r.Client.Create(ctx, desired)
		if apierrors.IsAlreadyExists(err) {
			return r.adoptSecret(ctx, s)
		}
	} else {
		err = r.Client.Update(ctx, desired)
	}
	if err != nil {
		return classify(err, v1alpha1.ReasonProgressing)
	}
	return nil
}

// adoptSecret handles a Secret of the target name that is not in the label-filtered cache:
// one someone else made (a conflict, left untouched), or the connection's own whose
// managed-by label was removed, which is updated to the desired state (and so back into
// the cache) instead of failing to create it again and again.
func (r *D365ConnectionReconciler) adoptSecret(ctx context.Context, s *reconcileState) *stepError {
	found := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: s.conn.Namespace, Name: s.target}, found); err != nil {
		return classify(err, v1alpha1.ReasonProgressing)
	}
	if !metav1.IsControlledBy(found, s.conn) {
		return conflict(s.conn, s.target)
	}
	s.existing = found
	adopted, failed := r.desiredSecret(s)
	if failed != nil {
		return failed
	}
	if err := r.Client.Update(ctx, adopted); err != nil {
		return classify(err, v1alpha1.ReasonProgressing)
	}
	return nil
}

// tokenDigest is the hex SHA-256 of an access token: a JWT carries far too much entropy to
// be guessed from it, so it may sit in an annotation.
func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// digestMatches reports whether the Secret's token is the one the operator wrote: a hand
// edit of access_token is then replaced by the token held. A Secret written before the
// digest existed has none and is trusted, so that an upgrade does not mint new tokens.
func digestMatches(secret *corev1.Secret, token string) bool {
	digest, ok := secret.Annotations[v1alpha1.AnnotationTokenDigest]
	return !ok || digest == tokenDigest(token)
}

// conflict reports a Secret of the target name that this connection does not control.
func conflict(conn *v1alpha1.D365Connection, name string) *stepError {
	return terminal(v1alpha1.ReasonTargetSecretConflict,
		"Secret %q already exists in namespace %q and is not controlled by this D365Connection; it is left untouched. Delete it, or set spec.target.name to another name",
		name, conn.Namespace)
}

// labelsManagedByUs selects the operator's output Secrets.
func labelsManagedByUs() labels.Selector {
	return labels.SelectorFromSet(labels.Set{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue})
}
