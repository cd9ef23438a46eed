package controller

import (
	"context"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// Indexes that map a change back to the connections and identities it concerns.
const (
	// identityRefIndex indexes connections by the ClusterD365Identity they sign in as.
	identityRefIndex = "spec.identityRef.name"
	// identitySecretsIndex indexes identities by the Secrets they read, as "namespace/name".
	identitySecretsIndex = "spec.auth.secretRefs" //nolint:gosec // an index name, not a credential
	// identityServiceAccountIndex indexes identities by their workloadIdentity ServiceAccount,
	// as "namespace/name".
	identityServiceAccountIndex = "spec.auth.workloadIdentity.serviceAccountName"
)

// indexIdentities registers the identity indexes; the identity controller and the
// connection controller both list through them.
func (r *D365ConnectionReconciler) indexIdentities(ctx context.Context, mgr ctrl.Manager) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &v1alpha1.D365Connection{}, identityRefIndex, func(o client.Object) []string {
		if ref := o.(*v1alpha1.D365Connection).Spec.IdentityRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, &v1alpha1.ClusterD365Identity{}, identitySecretsIndex, func(o client.Object) []string {
		return r.identitySecrets(o.(*v1alpha1.ClusterD365Identity))
	}); err != nil {
		return err
	}
	return indexer.IndexField(ctx, &v1alpha1.ClusterD365Identity{}, identityServiceAccountIndex, func(o client.Object) []string {
		if wi := o.(*v1alpha1.ClusterD365Identity).Spec.Auth.WorkloadIdentity; wi != nil && r.ClusterResourceNamespace != "" {
			return []string{types.NamespacedName{Namespace: r.ClusterResourceNamespace, Name: wi.ServiceAccountName}.String()}
		}
		return nil
	})
}

// identitySecrets lists the Secrets an identity reads, as "namespace/name".
func (r *D365ConnectionReconciler) identitySecrets(id *v1alpha1.ClusterD365Identity) []string {
	var keys []string
	visitSecretRefs(reflect.ValueOf(id.Spec.Auth), r.ClusterResourceNamespace, func(secret types.NamespacedName, _ string) {
		if secret.Namespace != "" && secret.Name != "" {
			keys = append(keys, secret.String())
		}
	})
	return keys
}

// identitiesIndexed names the identities whose index holds value.
func (r *D365ConnectionReconciler) identitiesIndexed(ctx context.Context, index, value string) []string {
	var list v1alpha1.ClusterD365IdentityList
	if err := r.Client.List(ctx, &list, client.MatchingFields{index: value}); err != nil {
		return nil
	}
	names := make([]string, 0, len(list.Items))
	for _, id := range list.Items {
		names = append(names, id.Name)
	}
	return names
}

// connectionsUsing lists the connections, of every namespace, that sign in as an identity.
func (r *D365ConnectionReconciler) connectionsUsing(ctx context.Context, identity string) []reconcile.Request {
	var list v1alpha1.D365ConnectionList
	if err := r.Client.List(ctx, &list, client.MatchingFields{identityRefIndex: identity}); err != nil {
		return nil
	}
	return requestsFor(list.Items, func(v1alpha1.D365Connection) bool { return true })
}

// connectionsOfIdentitiesIndexed lists the connections that use an identity whose index
// holds value: a changed Secret or ServiceAccount of the platform namespace reaches every
// connection that signs in with it, whatever its namespace.
func (r *D365ConnectionReconciler) connectionsOfIdentitiesIndexed(ctx context.Context, index, value string) []reconcile.Request {
	names := r.identitiesIndexed(ctx, index, value)
	requests := make([]reconcile.Request, 0, len(names))
	for _, name := range names {
		requests = append(requests, r.connectionsUsing(ctx, name)...)
	}
	return requests
}

// connectionsWithIdentityIn maps a namespace whose labels changed to its connections that
// use an identity: an allowedNamespaces selector may now pick it, or no longer.
func (r *D365ConnectionReconciler) connectionsWithIdentityIn(ctx context.Context, ns *metav1.PartialObjectMetadata) []reconcile.Request {
	var list v1alpha1.D365ConnectionList
	if err := r.Client.List(ctx, &list, client.InNamespace(ns.Name)); err != nil {
		return nil
	}
	return requestsFor(list.Items, func(c v1alpha1.D365Connection) bool { return c.Spec.IdentityRef != nil })
}

// requestsFor is a request for each connection keep picks.
func requestsFor(conns []v1alpha1.D365Connection, keep func(v1alpha1.D365Connection) bool) []reconcile.Request {
	requests := make([]reconcile.Request, 0, len(conns))
	for _, c := range conns {
		if keep(c) {
			requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Name}})
		}
	}
	return requests
}
