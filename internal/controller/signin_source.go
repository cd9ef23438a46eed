package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups=d365.operators.dev,resources=clusterd365identities,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// signInSource is who a connection signs in as: its own spec.auth, with Secrets of its own
// namespace, or a ClusterD365Identity, with Secrets of the namespaces the identity names.
// The credential steps read only this, so both paths share every resolver.
type signInSource struct {
	auth *v1alpha1.AuthSpec
	// namespace holds the Secrets whose reference names no namespace, and the
	// workloadIdentity ServiceAccount: the connection's own, or the operator's
	// --cluster-resource-namespace for an identity.
	namespace               string
	tenantID, authorityHost string
	// identity is the ClusterD365Identity's name; "" for spec.auth.
	identity string
}

// connectionSource is a connection's own spec.auth.
func connectionSource(conn *v1alpha1.D365Connection) signInSource {
	return signInSource{auth: &conn.Spec.Auth, namespace: conn.Namespace,
		tenantID: conn.Spec.TenantID, authorityHost: conn.Spec.AuthorityHost}
}

// identitySource is a ClusterD365Identity's sign-in; its Secrets default to namespace.
func identitySource(id *v1alpha1.ClusterD365Identity, namespace string) signInSource {
	return signInSource{auth: &id.Spec.Auth, namespace: namespace,
		tenantID: id.Spec.TenantID, authorityHost: id.Spec.AuthorityHost, identity: id.Name}
}

// field names a field of the source's auth in messages: "auth.clientSecret.clientSecretRef",
// or, for an identity, `ClusterD365Identity "sales-app" auth.clientSecret.clientSecretRef`,
// so that the connection's status says whose spec to fix.
func (src signInSource) field(path string) string {
	if src.identity == "" {
		return "auth." + path
	}
	return fmt.Sprintf("ClusterD365Identity %q auth.%s", src.identity, path)
}

// serviceAccountHome says, in messages, why a workloadIdentity ServiceAccount is looked up
// in its namespace.
func (src signInSource) serviceAccountHome() string {
	if src.identity == "" {
		return "the connection's own"
	}
	return "the operator's --cluster-resource-namespace, where identities' ServiceAccounts live"
}

// secretKey is where a referenced Secret lives. A connection's references have no namespace
// (the CRD refuses one; one written before the rule existed is refused here too): a
// connection never reads another namespace's Secrets.
func (src signInSource) secretKey(name, namespace, field string) (types.NamespacedName, *stepError) {
	switch {
	case namespace == "" && src.namespace == "":
		return types.NamespacedName{}, terminal(v1alpha1.ReasonSecretNotFound,
			"%s names no namespace and the operator runs without --cluster-resource-namespace: set %s.namespace", field, field)
	case namespace == "":
		return types.NamespacedName{Namespace: src.namespace, Name: name}, nil
	case src.identity == "" && namespace != src.namespace:
		return types.NamespacedName{}, terminal(v1alpha1.ReasonSecretNotFound,
			"%s names namespace %q: a connection reads Secrets of its own namespace only; remove the namespace, or share the credential through a ClusterD365Identity", field, namespace)
	}
	return types.NamespacedName{Namespace: namespace, Name: name}, nil
}

// resolveSignInSource decides who the connection signs in as. With spec.identityRef, the
// ClusterD365Identity must exist and allow the connection's namespace; both failures are
// terminal and come before any Secret is read or token requested (the identity and
// namespace watches retry). Sets s.source.
func (r *D365ConnectionReconciler) resolveSignInSource(ctx context.Context, s *reconcileState) *stepError {
	ref := s.conn.Spec.IdentityRef
	if ref == nil {
		s.source = connectionSource(s.conn)
		return nil
	}
	id := &v1alpha1.ClusterD365Identity{}
	err := r.Client.Get(ctx, types.NamespacedName{Name: ref.Name}, id)
	switch {
	case apierrors.IsNotFound(err):
		return terminal(v1alpha1.ReasonIdentityNotFound,
			"ClusterD365Identity %q (spec.identityRef.name) not found: ask the platform team to create it, or fix the name (kubectl get cd365i lists them)", ref.Name)
	case err != nil:
		return &stepError{Reason: v1alpha1.ReasonServiceUnavailable, Message: fmt.Sprintf(
			"Reading ClusterD365Identity %q: %s", ref.Name, apiErrorText(err))}
	}
	allowed, failed := r.namespaceAllowed(ctx, id, s.conn.Namespace)
	if failed != nil {
		return failed
	}
	if !allowed {
		return terminal(v1alpha1.ReasonIdentityNotAllowed,
			"ClusterD365Identity %q does not allow namespace %q, so no token is requested: ask the platform team to add the namespace to its spec.allowedNamespaces (names, or a label selector the namespace matches)",
			id.Name, s.conn.Namespace)
	}
	s.source = identitySource(id, r.ClusterResourceNamespace)
	return nil
}

// namespaceAllowed says whether the identity's allowedNamespaces pick the namespace, by name
// or by its labels (read from the metadata-only namespace cache).
func (r *D365ConnectionReconciler) namespaceAllowed(ctx context.Context, id *v1alpha1.ClusterD365Identity, namespace string) (bool, *stepError) {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	var nsLabels map[string]string
	if id.Spec.AllowedNamespaces.Selector != nil {
		if err := r.Client.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil && !apierrors.IsNotFound(err) {
			return false, &stepError{Reason: v1alpha1.ReasonServiceUnavailable, Message: fmt.Sprintf(
				"Reading namespace %q to match ClusterD365Identity %q's allowedNamespaces.selector: %s", namespace, id.Name, apiErrorText(err))}
		}
		nsLabels = ns.Labels
	}
	allowed, err := allowsNamespace(id.Spec.AllowedNamespaces, namespace, nsLabels)
	if err != nil {
		return false, terminal(v1alpha1.ReasonIdentityNotAllowed,
			"ClusterD365Identity %q has an unusable allowedNamespaces.selector (%s): no namespace may use it until the platform team fixes it", id.Name, err)
	}
	return allowed, nil
}
