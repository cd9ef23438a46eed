package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// Output Secrets carry their connection's shard label (d365.operators.dev/shard), so that a
// shard's informer of output Secrets holds only its own connections' Secrets and its memory
// drops with its share, as its informer of connections does.

// OutputSecretCacheOptions restricts the manager's Secret informer to the operator's own
// output Secrets and, in a shard (watch is --watch-label-selector, nil when unset), to
// those of the shard's connections.
func OutputSecretCacheOptions(watch labels.Selector) cache.ByObject {
	return cache.ByObject{Label: outputSecretSelector(watch)}
}

// outputSecretSelector is managed-by AND the watch selector's requirements on the shard
// label. Every output Secret carries its connection's shard label exactly (value, or
// absence), so a Secret matches those requirements whenever its connection does.
// Requirements on other labels are left out: the Secret does not carry those labels, and
// leaving a requirement out only widens the selection, never loses a Secret.
func outputSecretSelector(watch labels.Selector) labels.Selector {
	selector := labelsManagedByUs()
	if watch == nil {
		return selector
	}
	requirements, _ := watch.Requirements()
	for _, r := range requirements {
		if r.Key() == v1alpha1.LabelShard {
			selector = selector.Add(r)
		}
	}
	return selector
}

// copyShardLabel gives the output Secret's labels the connection's shard label, or removes
// it when the connection has none: a connection moved to another shard (`shard assign`)
// has its Secret relabelled, once, by the shard that now reconciles it.
func copyShardLabel(secretLabels map[string]string, conn *v1alpha1.D365Connection) {
	if value, ok := conn.Labels[v1alpha1.LabelShard]; ok {
		secretLabels[v1alpha1.LabelShard] = value
		return
	}
	delete(secretLabels, v1alpha1.LabelShard)
}

// outputSecretOutsideTheCache reads an output Secret that the label-selected cache does not
// hold, when the metadata cache of every Secret says it exists: one written before output
// Secrets carried the shard label (an upgrade), one whose connection just moved shards,
// one whose managed-by label was removed, or one someone else made under the target name.
// Reading it keeps the valid token it holds (no token request, no failed create); the
// next write puts it back into the cache. A Secret that does not exist costs no API call.
func (r *D365ConnectionReconciler) outputSecretOutsideTheCache(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := r.SecretMetadata.Get(ctx, key, meta); err != nil {
		return nil, err
	}
	secret := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, key, secret); err != nil {
		return nil, err
	}
	return secret, nil
}
