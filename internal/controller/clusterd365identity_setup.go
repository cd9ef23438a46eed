package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// SetupWithManager registers the identity controller: identities (spec changes), the
// connections that start or stop using one (its count), its Secrets and ServiceAccount
// (metadata cache), and Entra ID's answers to its connections' token requests. Call it
// after the connection controller's SetupWithManager, which registers the indexes.
func (r *ClusterD365IdentityReconciler) SetupWithManager(mgr ctrl.Manager, secretMetadata cache.Cache) error {
	c := r.connections
	secretMeta := &metav1.PartialObjectMetadata{}
	secretMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	saMeta := &metav1.PartialObjectMetadata{}
	saMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	identitiesIndexedBy := func(index string) handler.TypedEventHandler[*metav1.PartialObjectMetadata, reconcile.Request] {
		return handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, o *metav1.PartialObjectMetadata) []reconcile.Request {
			return identityRequests(c.identitiesIndexed(ctx, index, types.NamespacedName{Namespace: o.Namespace, Name: o.Name}.String()))
		})
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.ClusterD365Identity{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.D365Connection{}, identityUsers()).
		WatchesRawSource(source.Kind(secretMetadata, secretMeta, identitiesIndexedBy(identitySecretsIndex),
			predicate.TypedResourceVersionChangedPredicate[*metav1.PartialObjectMetadata]{})).
		WatchesRawSource(source.Kind(secretMetadata, saMeta, identitiesIndexedBy(identityServiceAccountIndex),
			predicate.TypedResourceVersionChangedPredicate[*metav1.PartialObjectMetadata]{})).
		WatchesRawSource(source.Channel(c.identityOutcomes.changed, &handler.EnqueueRequestForObject{})).
		Named("clusterd365identity").
		Complete(r)
}

// identityUsers enqueues the identity a connection starts or stops using: on create and
// delete, and on an update that changes spec.identityRef (both the old and the new one).
// Status updates, the bulk of connection events, enqueue nothing.
func identityUsers() handler.EventHandler {
	enqueue := func(q workqueue.TypedRateLimitingInterface[reconcile.Request], o client.Object) {
		if ref := o.(*v1alpha1.D365Connection).Spec.IdentityRef; ref != nil {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: ref.Name}})
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, e.Object)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, e.Object)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			oldRef, newRef := e.ObjectOld.(*v1alpha1.D365Connection).Spec.IdentityRef, e.ObjectNew.(*v1alpha1.D365Connection).Spec.IdentityRef
			if (oldRef == nil) == (newRef == nil) && (oldRef == nil || oldRef.Name == newRef.Name) {
				return
			}
			enqueue(q, e.ObjectOld)
			enqueue(q, e.ObjectNew)
		},
	}
}

// identityRequests is a request per identity name.
func identityRequests(names []string) []reconcile.Request {
	requests := make([]reconcile.Request, 0, len(names))
	for _, name := range names {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
	}
	return requests
}
