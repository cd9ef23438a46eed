package controller

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// IdentityHashKeySecret is the Secret, in the operator's own namespace, that holds the key
// of the identity hash on output Secrets (key "key", 32 random bytes).
const IdentityHashKeySecret = "d365-operator-identity-hash-key" //nolint:gosec // a Secret's name

// identityHashKeyBytes is the key's length.
const identityHashKeyBytes = 32

// identityHash fingerprints who a token was issued to and for what. Stored on the output
// Secret, it lets a restarted operator reuse a still-valid token instead of minting a new
// one, and makes a rotated credential or a changed environment mint a new one. It is an
// HMAC under a key only the operator reads: without it, whoever can read the output
// Secret cannot test guesses of a password or a secret against it offline.
func identityHash(key []byte, id entra.Identity, resource, envURL string) string {
	mac := hmac.New(sha256.New, key)
	_, _ = mac.Write([]byte(id.Key() + "\n" + resource + "\n" + envURL))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// EnsureIdentityHashKey returns the identity hash key kept in Secret IdentityHashKeySecret
// of namespace, creating it with a random key on the operator's first start. Replicas that
// start together agree: the loser of the create reads the winner's key. The key never
// leaves this Secret and the operator's memory.
func EnsureIdentityHashKey(ctx context.Context, reader client.Reader, writer client.Writer, namespace string) ([]byte, error) {
	name := types.NamespacedName{Namespace: namespace, Name: IdentityHashKeySecret}
	for range 2 {
		secret := &corev1.Secret{}
		err := reader.Get(ctx, name, secret)
		if err == nil && len(secret.Data["key"]) >= identityHashKeyBytes {
			return secret.Data["key"], nil
		}
		if err == nil {
			return nil, fmt.Errorf("secret %s holds no key of %d bytes: delete it and restart the operator (output Secrets then get new tokens once)", name, identityHashKeyBytes)
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading the identity hash key Secret %s: %w", name, err)
		}
		key := make([]byte, identityHashKeyBytes)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		secret = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: IdentityHashKeySecret,
				Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"key": key},
		}
		if err := writer.Create(ctx, secret); err == nil {
			return key, nil
		} else if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating the identity hash key Secret %s: %w", name, err)
		}
	}
	return nil, fmt.Errorf("the identity hash key Secret %s changed while it was created; restart the operator", name)
}

// randomIdentityHashKey is the key of an operator that has no namespace to keep one in
// (run from a developer's kubeconfig): output Secrets get new tokens after its restart.
func randomIdentityHashKey() []byte {
	key := make([]byte, identityHashKeyBytes)
	_, _ = rand.Read(key)
	return key
}
