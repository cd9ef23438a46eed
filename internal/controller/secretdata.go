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

// get returns the Secret's data, holding at least the keys want names (all of it when want
// is empty); a NotFound error when it does not exist. Only the keys some connection
// references (see keep) are held in memory afterwards: a connection that names one key of
// a Secret does not make the operator keep the others.
func (s *referencedSecretData) get(ctx context.Context, key types.NamespacedName, want []string, keep func([]string) []string) (map[string][]byte, error) {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := s.metadata.Get(ctx, key, meta); err != nil {
		s.forget(key)
		return nil, err
	}
	version := secretVersion{NamespacedName: key, resourceVersion: meta.ResourceVersion}
	holds := func(data map[string][]byte) bool { return hasKeys(data, want) }
	return s.byVersion.Get(ctx, version, holds, func(ctx context.Context) (map[string][]byte, error) {
		// A new version replaces the data of the older ones: one version per Secret is kept.
		s.byVersion.ForgetIf(func(v secretVersion) bool { return v.NamespacedName == key && v != version })
		secret := &corev1.Secret{}
		if err := s.reader.Get(ctx, key, secret); err != nil {
			s.forget(key)
			return nil, err
		}
		return onlyKeys(secret.Data, keep(want)), nil
	})
}

// hasKeys reports whether data holds every key of want (or any data, for an empty want).
func hasKeys(data map[string][]byte, want []string) bool {
	for _, k := range want {
		if _, ok := data[k]; !ok {
			return false
		}
	}
	return data != nil
}

// onlyKeys is data reduced to keys; all of it when keys is nil.
func onlyKeys(data map[string][]byte, keys []string) map[string][]byte {
	if keys == nil {
		return data
	}
	kept := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if v, ok := data[k]; ok {
			kept[k] = v
		}
	}
	return kept
}

// forget drops a Secret's data (deleted, or no longer readable).
func (s *referencedSecretData) forget(key types.NamespacedName) {
	s.byVersion.ForgetIf(func(v secretVersion) bool { return v.NamespacedName == key })
}

// forgetUnreferenced drops the data of every Secret no connection references any more.
func (s *referencedSecretData) forgetUnreferenced(referenced func(types.NamespacedName) bool) {
	for _, v := range s.byVersion.Keys() {
		if !referenced(v.NamespacedName) {
			s.forget(v.NamespacedName)
		}
	}
}
