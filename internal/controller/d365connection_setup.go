package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// referencedSecretsIndex indexes connections by the names of the Secrets they read.
const referencedSecretsIndex = "spec.auth.secretRefs" //nolint:gosec // an index name, not a credential

// NewSecretMetadataCache starts a metadata-only cache of Secrets (no data, no managed
// fields): enough to notice that a referenced Secret appeared or changed, without holding
// every Secret of the cluster in memory. It is a separate cache because the manager's
// cache holds only the operator's own output Secrets (label selector), and a selector
// there applies to every informer of the Secret kind. It cannot be selected by shard:
// referenced Secrets are users' Secrets and carry no shard label, so every shard holds
// the metadata of every Secret of the watched namespaces (docs/operations.md measures it).
func NewSecretMetadataCache(mgr ctrl.Manager, namespaces map[string]cache.Config) (cache.Cache, error) {
	opts := secretMetadataCacheOptions(namespaces)
	opts.HTTPClient, opts.Scheme, opts.Mapper = mgr.GetHTTPClient(), mgr.GetScheme(), mgr.GetRESTMapper()
	c, err := cache.New(mgr.GetConfig(), opts)
	if err != nil {
		return nil, err
	}
	return c, mgr.Add(c)
}

// secretMetadataCacheOptions are the metadata cache's namespaces and transform.
func secretMetadataCacheOptions(namespaces map[string]cache.Config) cache.Options {
	return cache.Options{DefaultNamespaces: namespaces, DefaultTransform: keepOnlyWhatIsUsed}
}

// keepOnlyWhatIsUsed is the metadata cache's transform: of every Secret and ServiceAccount
// of the cluster it keeps the name, namespace, UID and resourceVersion (enough to notice a
// change), and of the annotations only a ServiceAccount's consent. Labels, owner references,
// managed fields and other annotations go: kubectl's last-applied-configuration annotation
// holds a Secret's data when it was applied client-side.
func keepOnlyWhatIsUsed(obj any) (any, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return obj, nil
	}
	var kept map[string]string
	if v, ok := m.GetAnnotations()[AnnotationWorkloadClientID]; ok {
		kept = map[string]string{AnnotationWorkloadClientID: v}
	}
	m.SetAnnotations(kept)
	m.SetLabels(nil)
	m.SetManagedFields(nil)
	m.SetOwnerReferences(nil)
	m.SetFinalizers(nil)
	return obj, nil
}

// SetupWithManager registers the controller: connections (spec and annotation changes,
// not status), owned output Secrets (deleted or changed by someone else), referenced
// Secrets and ServiceAccounts through the metadata cache and the indexes, and the
// ClusterD365Identities connections use with the labels of their namespaces (metadata only).
func (r *D365ConnectionReconciler) SetupWithManager(mgr ctrl.Manager, secretMetadata cache.Cache, concurrency int) error {
	if err := r.indexIdentities(context.Background(), mgr); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.D365Connection{}, referencedSecretsIndex,
		func(o client.Object) []string { return referencedSecrets(o.(*v1alpha1.D365Connection)) }); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.D365Connection{}, serviceAccountIndex,
		func(o client.Object) []string { return workloadServiceAccount(o.(*v1alpha1.D365Connection)) }); err != nil {
		return err
	}
	secretMeta := &metav1.PartialObjectMetadata{}
	secretMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	saMeta := &metav1.PartialObjectMetadata{}
	saMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.D365Connection{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Secret{}, builder.WithPredicates(notOurWrite())).
		WatchesRawSource(source.Kind(secretMetadata, secretMeta,
			handler.TypedEnqueueRequestsFromMapFunc(r.connectionsReferencing),
			predicate.TypedResourceVersionChangedPredicate[*metav1.PartialObjectMetadata]{})).
		WatchesRawSource(source.Kind(secretMetadata, saMeta,
			handler.TypedEnqueueRequestsFromMapFunc(r.connectionsSigningInAs),
			predicate.TypedResourceVersionChangedPredicate[*metav1.PartialObjectMetadata]{})).
		Watches(&v1alpha1.ClusterD365Identity{},
			handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
				return r.connectionsUsing(ctx, o.GetName())
			}),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(&corev1.Namespace{},
			handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
				return r.connectionsWithIdentityIn(ctx, o.(*metav1.PartialObjectMetadata))
			}),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(concurrency, 1), RateLimiter: r.retries}).
		Named("d365connection").
		Complete(r)
}

// connectionsReferencing maps a Secret to the connections in its namespace that read it,
// and to the connections of every namespace that use an identity reading it.
func (r *D365ConnectionReconciler) connectionsReferencing(ctx context.Context, secret *metav1.PartialObjectMetadata) []reconcile.Request {
	key := types.NamespacedName{Namespace: secret.Namespace, Name: secret.Name}
	r.secrets.forget(key)
	return append(r.connectionsIndexed(ctx, secret.Namespace, referencedSecretsIndex, secret.Name),
		r.connectionsOfIdentitiesIndexed(ctx, identitySecretsIndex, key.String())...)
}

// serviceAccountIndex indexes workload identity connections by their ServiceAccount's name.
const serviceAccountIndex = "spec.auth.workloadIdentity.serviceAccountName"

// workloadServiceAccount is the ServiceAccount a connection signs in as, if any.
func workloadServiceAccount(conn *v1alpha1.D365Connection) []string {
	if wi := conn.Spec.Auth.WorkloadIdentity; wi != nil {
		return []string{wi.ServiceAccountName}
	}
	return nil
}

// connectionsSigningInAs maps a ServiceAccount (created, annotated, deleted) to the
// connections of its namespace that sign in as it, and to those using an identity that
// does: its consent is checked at once.
func (r *D365ConnectionReconciler) connectionsSigningInAs(ctx context.Context, sa *metav1.PartialObjectMetadata) []reconcile.Request {
	key := types.NamespacedName{Namespace: sa.Namespace, Name: sa.Name}
	return append(r.connectionsIndexed(ctx, sa.Namespace, serviceAccountIndex, sa.Name),
		r.connectionsOfIdentitiesIndexed(ctx, identityServiceAccountIndex, key.String())...)
}

// connectionsIndexed lists the connections of a namespace whose index holds value.
func (r *D365ConnectionReconciler) connectionsIndexed(ctx context.Context, namespace, index, value string) []reconcile.Request {
	var list v1alpha1.D365ConnectionList
	if err := r.Client.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{index: value}); err != nil {
		return nil
	}
	return requestsFor(list.Items, func(v1alpha1.D365Connection) bool { return true })
}

// notOurWrite ignores the events of the operator's own writes to output Secrets (a create,
// or an update that carries a new issued-at), so a refresh does not reconcile twice.
// Deletions and changes by anyone else still reconcile, and the Secret is restored.
func notOurWrite() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetAnnotations()[v1alpha1.AnnotationIssuedAt] == e.ObjectNew.GetAnnotations()[v1alpha1.AnnotationIssuedAt]
		},
	}
}
