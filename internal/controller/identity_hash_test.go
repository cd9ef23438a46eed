package controller

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// The identity hash on the output Secret cannot be recomputed from the credential alone:
// whoever reads the Secret's annotations cannot test guesses of the secret offline.
func TestTheIdentityHashNeedsTheOperatorsKey(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	got := h.secret("sales-token").Annotations[v1alpha1.AnnotationIdentityHash]

	id := entra.Identity{Authority: "https://login.microsoftonline.com/" + tenantID + "/", ClientID: clientID, Credential: entra.ClientSecret(clientSecret)}
	resource, env := envURL+"/", envURL+"/"
	unkeyed := sha256.Sum256([]byte(id.Key() + "\n" + resource + "\n" + env))
	if got == hex.EncodeToString(unkeyed[:16]) {
		t.Error("the identity hash is an unkeyed hash of the credential: guessable offline")
	}
	if want := identityHash(h.r.IdentityHashKey, id, resource, env); got != want {
		t.Errorf("identity hash %s, want the HMAC under the operator's key %s", got, want)
	}
}

// The key is created once, in the operator's namespace, and every later start (or replica)
// reads the same one: a restarted operator recognises the tokens it wrote.
func TestIdentityHashKeyIsCreatedOnceAndKept(t *testing.T) {
	h := newHarness(t)
	first, err := EnsureIdentityHashKey(h.ctx, env.Client, env.Client, h.ns)
	if err != nil || len(first) != identityHashKeyBytes {
		t.Fatalf("EnsureIdentityHashKey = %d bytes, %v", len(first), err)
	}
	again, err := EnsureIdentityHashKey(h.ctx, env.Client, env.Client, h.ns)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("a second start got another key (%v)", err)
	}
	s := &corev1.Secret{}
	if err := env.Client.Get(h.ctx, types.NamespacedName{Namespace: h.ns, Name: IdentityHashKeySecret}, s); err != nil {
		t.Fatal(err)
	}
	if s.Type != corev1.SecretTypeOpaque || !metav1.HasLabel(s.ObjectMeta, v1alpha1.LabelManagedBy) {
		t.Errorf("key Secret type %s labels %v", s.Type, s.Labels)
	}
}
