package controller

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups=d365.operators.dev,resources=clusterd365identities/status,verbs=get;update;patch

// ClusterD365IdentityReconciler keeps a ClusterD365Identity's status: whether its
// credential resolves and Entra ID accepts it, how many connections use it, and Entra ID's
// last refusal. It signs nothing in itself: the connections' token requests are the
// evidence (identityOutcomes), so the identity costs no token request of its own.
type ClusterD365IdentityReconciler struct {
	// connections reads the identity's Secrets exactly as its connections do.
	connections *D365ConnectionReconciler
	// shard picks the identities this operator writes the status of (--watch-label-selector;
	// nil: all), so that two shards never write one identity's status.
	shard labels.Selector
}

// NewIdentityReconciler builds the identity controller on the connection controller's
// dependencies, Secret reads and Entra ID outcomes.
func NewIdentityReconciler(connections *D365ConnectionReconciler, shard labels.Selector) *ClusterD365IdentityReconciler {
	return &ClusterD365IdentityReconciler{connections: connections, shard: shard}
}

// Reconcile writes the identity's status when it changed.
func (r *ClusterD365IdentityReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	c := r.connections
	id := &v1alpha1.ClusterD365Identity{}
	if err := c.Client.Get(ctx, req.NamespacedName, id); err != nil {
		if apierrors.IsNotFound(err) {
			c.identityOutcomes.forget(req.Name)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if r.shard != nil && !r.shard.Matches(labels.Set(id.Labels)) {
		return reconcile.Result{}, nil
	}
	base := id.DeepCopy()
	now := c.Clock.Now().Truncate(time.Second)
	st := &id.Status
	st.ObservedGeneration = id.Generation
	st.AllowedNamespaces = allowedSummary(id.Spec.AllowedNamespaces)
	if n, ok := r.countConnections(ctx, id.Name); ok {
		st.Connections = n
	}
	outcome, _ := c.identityOutcomes.get(id.Name)
	if outcome.failure != nil {
		st.LastFailure = outcome.failure
	}
	status, reason, message := r.readiness(ctx, id, now, outcome)
	set := func(typ string, status metav1.ConditionStatus) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: status,
			Reason: reason, Message: message, ObservedGeneration: id.Generation, LastTransitionTime: metav1.NewTime(now)})
	}
	set(v1alpha1.ConditionReady, status)
	// kstatus (Flux, Argo CD, kubectl wait) reads Stalled, not Ready: an identity that cannot
	// sign in waits for its platform team, as a connection's terminal failure does.
	if status == metav1.ConditionFalse {
		set(v1alpha1.ConditionStalled, metav1.ConditionTrue)
	} else {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionStalled)
	}
	if equality.Semantic.DeepEqual(base.Status, id.Status) {
		return reconcile.Result{}, nil
	}
	return reconcile.Result{}, c.Client.Status().Patch(ctx, id, client.MergeFrom(base))
}

// readiness is the identity's Ready condition: False when its credential does not resolve
// (reason and message as a connection would show them) or Entra ID refused it since it
// last accepted it; True otherwise, saying whether a connection has used it yet.
func (r *ClusterD365IdentityReconciler) readiness(ctx context.Context, id *v1alpha1.ClusterD365Identity, now time.Time, outcome identityOutcome) (metav1.ConditionStatus, string, string) {
	s := &reconcileState{conn: &v1alpha1.D365Connection{}, now: now, source: identitySource(id, r.connections.ClusterResourceNamespace)}
	if failed := r.connections.resolveCredential(ctx, s); failed != nil {
		failed = s.scrub(failed)
		return metav1.ConditionFalse, failed.Reason, failed.Message
	}
	none := ""
	if len(id.Spec.AllowedNamespaces.Names) == 0 && id.Spec.AllowedNamespaces.Selector == nil {
		none = "; spec.allowedNamespaces is empty, so no connection may use it yet"
	}
	switch {
	case outcome.failure != nil && !outcome.accepted.After(outcome.failure.Time.Time):
		return metav1.ConditionFalse, outcome.failure.Reason, "Entra ID refused the credential: " + outcome.failure.Message
	case !outcome.accepted.IsZero():
		return metav1.ConditionTrue, v1alpha1.ReasonCredentialAccepted,
			fmt.Sprintf("Entra ID issued a token for it at %s%s", outcome.accepted.UTC().Format(time.RFC3339), none)
	}
	return metav1.ConditionTrue, v1alpha1.ReasonCredentialResolved,
		"The credential resolves; Entra ID has not been asked yet (the first connection using it does that)" + none
}

// countConnections counts the connections that use the identity (this shard's, when sharded:
// shard assign keeps an identity's connections together). ok is false when the index cannot
// answer, and the count is then left as it was.
func (r *ClusterD365IdentityReconciler) countConnections(ctx context.Context, identity string) (int32, bool) {
	var list v1alpha1.D365ConnectionList
	if err := r.connections.Client.List(ctx, &list, client.MatchingFields{identityRefIndex: identity}); err != nil {
		return 0, false
	}
	return int32(len(list.Items)), true //nolint:gosec // a count of cached objects fits
}
