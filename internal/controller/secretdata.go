package controller

import (
	"context"
	"sync"

	"golang.org/x/sync/singleflight"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
	reads  singleflight.Group

	mu      sync.Mutex
	entries map[types.NamespacedName]secretDataEntry
}

type secretDataEntry struct {
	resourceVersion string
	data            map[string][]byte
}

func newReferencedSecretData(metadata, reader client.Reader) *referencedSecretData {
	return &referencedSecretData{metadata: metadata, reader: reader, entries: map[types.NamespacedName]secretDataEntry{}}
}

// get returns the Secret's data; a NotFound error when it does not exist.
func (s *referencedSecretData) get(ctx context.Context, key types.NamespacedName) (map[string][]byte, error) {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := s.metadata.Get(ctx, key, meta); err != nil {
		s.forget(key)
		return nil, err
	}
	s.mu.Lock()
	entry, ok := s.entries[key]
	s.mu.Unlock()
	if ok && entry.resourceVersion == meta.ResourceVersion {
		return entry.data, nil
	}
	// Connections created together read their shared credential Secret once: the read is
	// shared per resourceVersion, so a caller that saw a newer one never gets older data.
	v, err, _ := s.reads.Do(key.String()+"@"+meta.ResourceVersion, func() (any, error) {
		secret := &corev1.Secret{}
		if err := s.reader.Get(ctx, key, secret); err != nil {
			s.forget(key)
			return nil, err
		}
		s.mu.Lock()
		s.entries[key] = secretDataEntry{resourceVersion: secret.ResourceVersion, data: secret.Data}
		s.mu.Unlock()
		return secret.Data, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(map[string][]byte), nil
}

// forget drops a Secret's data (deleted, or no longer readable).
func (s *referencedSecretData) forget(key types.NamespacedName) {
	s.mu.Lock()
	delete(s.entries, key)
	s.mu.Unlock()
}
