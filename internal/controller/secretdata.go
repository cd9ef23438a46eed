package controller

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/d365-operator/d365-operator/internal/sharedcall"
)

// referencedSecretData reads the data of Secrets that connections reference.
//
// The operator does not cache every Secret in the cluster: it watches Secrets as metadata
// only (cheap) and reads a referenced Secret's data from the API server directly, keeping
// that data only for as long as the Secret's resourceVersion is unchanged. A reconcile that
// changes nothing therefore costs no API call, and a rotated secret (new resourceVersion)
// is read afresh at once.
type referencedSecretData struct {
	// metadata answers with the current resourceVersion (a metadata-only cache in the
	// manager; any reader in tests).
	metadata client.Reader
	// reader reads the full Secret, uncached.
	reader client.Reader
	// byVersion holds a Secret's data under the resourceVersion it was read for. Connections
	// created together read their shared credential Secret once, and since a read is shared
	// per resourceVersion, a caller that saw a newer one never gets older data.
	byVersion *sharedcall.Cache[secretVersion, map[string][]byte]
}

// secretVersion is a Secret at one resourceVersion.
type secretVersion struct {
	types.NamespacedName
	resourceVersion string
}

// secretReadTimeout bounds one shared read, which runs detached from the reconciles
// waiting for it.
const secretReadTimeout = time.Minute

func newReferencedSecretData(metadata, reader client.Reader) *referencedSecretData {
	return &referencedSecretData{metadata: metadata, reader: reader,
		byVersion: sharedcall.New[secretVersion](sharedcall.Options[map[string][]byte]{Timeout: secretReadTimeout})}
}

// get returns the Secret's data; a NotFound error when it does not exist.
func (s *referencedSecretData) get(ctx context.Context, key types.NamespacedName) (map[string][]byte, error) {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := s.metadata.Get(ctx, key, meta); err != nil {
		s.forget(key)
		return nil, err
	}
	version := secretVersion{NamespacedName: key, resourceVersion: meta.ResourceVersion}
	return s.byVersion.Get(ctx, version, nil, func(ctx context.Context) (map[string][]byte, error) {
		// A new version replaces the data of the older ones: one version per Secret is kept.
		s.byVersion.ForgetIf(func(v secretVersion) bool { return v.NamespacedName == key && v != version })
		secret := &corev1.Secret{}
		if err := s.reader.Get(ctx, key, secret); err != nil {
			s.forget(key)
			return nil, err
		}
		return secret.Data, nil
	})
}

// forget drops a Secret's data (deleted, or no longer readable).
func (s *referencedSecretData) forget(key types.NamespacedName) {
	s.byVersion.ForgetIf(func(v secretVersion) bool { return v.NamespacedName == key })
}
