// Package controller reconciles D365Connections: it keeps a fresh Entra ID token for a
// Dataverse environment in a Secret and reports WhoAmI health in the connection's status.
package controller

import (
	"context"
	"net/url"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// TokenProvider acquires tokens (entra.Provider), with times in whole seconds; accept
// decides whether a token it already holds for the same identity and resource is fresh
// enough to reuse.
type TokenProvider interface {
	Acquire(ctx context.Context, id entra.Identity, resource string, accept func(entra.Token) bool) (entra.Token, error)
	// Forget drops what the provider holds for an identity whose credential was rejected.
	Forget(id entra.Identity)
}

// Environment talks to Dataverse (dataverse.Client).
type Environment interface {
	Discover(ctx context.Context, environmentURL string) (dataverse.Authority, error)
	WhoAmI(ctx context.Context, environmentURL, accessToken string) (dataverse.Identity, error)
	RetrieveUserPrivileges(ctx context.Context, environmentURL, accessToken, userID string) (dataverse.UserPrivileges, error)
	RetrieveVersion(ctx context.Context, environmentURL, accessToken string) (dataverse.Version, error)
	RetrieveCurrentOrganization(ctx context.Context, environmentURL, accessToken string) (dataverse.Organization, error)
}

// TrustPolicy decides which hosts may receive credentials (trust.Policy).
type TrustPolicy interface {
	CheckEnvironment(u *url.URL) error
	CheckAuthority(u *url.URL) error
}

// Dependencies are what the reconciler talks to; every outside system is behind one.
type Dependencies struct {
	// Client reads connections and output Secrets from the manager's cache and writes.
	Client client.Client
	// APIReader reads uncached (referenced Secrets' data, a conflicting target Secret).
	APIReader client.Reader
	// SecretMetadata answers a referenced Secret's resourceVersion (metadata-only cache).
	SecretMetadata client.Reader
	Scheme         *runtime.Scheme
	Clock          clock.PassiveClock
	Recorder       events.EventRecorder
	Tokens         TokenProvider
	Environments   Environment
	Trust          TrustPolicy
	// OperatorServiceAccount is the ServiceAccount the operator runs as (zero when it runs as
	// another kind of user); auth.workloadIdentity refuses to sign in as it.
	OperatorServiceAccount types.NamespacedName
	// ClusterResourceNamespace holds the Secrets a ClusterD365Identity references without a
	// namespace, and its workloadIdentity ServiceAccounts (--cluster-resource-namespace).
	ClusterResourceNamespace string
	// SecretNamespaces are the namespaces whose Secrets the operator may read (its watched
	// namespaces and the ClusterResourceNamespace); nil: every namespace.
	SecretNamespaces map[string]bool
	// IdentityHashKey keys the identity hash on output Secrets (EnsureIdentityHashKey); nil
	// means a random key for this process only.
	IdentityHashKey []byte
}

// D365ConnectionReconciler reconciles a D365Connection object.
type D365ConnectionReconciler struct {
	Dependencies

	secrets     *referencedSecretData
	discoveries *discoveries
	retries     *retryPlanner
	healthRuns  healthRuns
	whoAmIs     *whoAmIs
	privileges  *privilegeChecks
	envInfos    *environmentInfos
	// identityOutcomes is Entra ID's last answer per ClusterD365Identity, for its status.
	identityOutcomes *identityOutcomes
}

// New builds the reconciler.
func New(d Dependencies) *D365ConnectionReconciler {
	if d.Clock == nil {
		d.Clock = clock.RealClock{}
	}
	if len(d.IdentityHashKey) == 0 {
		d.IdentityHashKey = randomIdentityHashKey()
	}
	return &D365ConnectionReconciler{
		Dependencies: d,
		secrets:      newReferencedSecretData(d.SecretMetadata, d.APIReader),
		discoveries:  newDiscoveries(),
		retries:      newRetryPlanner(),
		healthRuns:   healthRuns{last: map[types.NamespacedName]time.Time{}},
		whoAmIs:      newWhoAmIs(),
		privileges:   newPrivilegeChecks(),
		envInfos:     newEnvironmentInfos(),

		identityOutcomes: newIdentityOutcomes(),
	}
}

// +kubebuilder:rbac:groups=d365.operators.dev,resources=d365connections,verbs=get;list;watch
// +kubebuilder:rbac:groups=d365.operators.dev,resources=d365connections/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=d365.operators.dev,resources=d365connections/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile fetches the connection, runs the steps (see steps) unless it is suspended or
// being deleted, and writes the status once, in a deferred patch, only when it changed.
// A failed step is returned as an error, so that controller-runtime counts it; the wait
// before the retry is still the reconciler's (retryPlanner), terminal failures wait for a
// change.
func (r *D365ConnectionReconciler) Reconcile(ctx context.Context, req reconcile.Request) (result reconcile.Result, err error) {
	conn := &v1alpha1.D365Connection{}
	if err := r.Client.Get(ctx, req.NamespacedName, conn); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(ctx, req)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if !conn.DeletionTimestamp.IsZero() {
		// The output Secret goes with it (owner reference); nothing to do.
		return reconcile.Result{}, nil
	}
	base := conn.DeepCopy()
	defer func() {
		if patchErr := r.patchStatus(ctx, base, conn); patchErr != nil {
			result, err = reconcile.Result{}, patchErr
		}
	}()
	if conn.Spec.Suspend {
		log.FromContext(ctx).V(1).Info("Connection is suspended; nothing is called or written")
		markSuspended(conn, metav1.NewTime(r.Clock.Now().Truncate(time.Second)))
		return reconcile.Result{}, nil
	}
	return r.runSteps(ctx, req, conn)
}

// patchStatus writes the status when the reconcile changed it, then announces transitions
// and publishes the schedule metrics.
func (r *D365ConnectionReconciler) patchStatus(ctx context.Context, base, conn *v1alpha1.D365Connection) error {
	conn.Status.ObservedGeneration = conn.Generation
	if !equality.Semantic.DeepEqual(base.Status, conn.Status) {
		if err := r.Client.Status().Patch(ctx, conn, client.MergeFrom(base)); err != nil {
			return err
		}
	}
	r.announce(base, conn)
	recordSchedule(conn)
	return nil
}

// forget drops what the reconciler kept about a deleted connection, and the data of the
// Secrets that no connection references any more.
func (r *D365ConnectionReconciler) forget(ctx context.Context, req reconcile.Request) {
	r.secrets.forgetUnreferenced(func(secret types.NamespacedName) bool {
		return len(r.connectionsIndexed(ctx, secret.Namespace, referencedSecretsIndex, secret.Name)) > 0 ||
			len(r.identitiesIndexed(ctx, identitySecretsIndex, secret.String())) > 0
	})
	forgetSchedule(req.Namespace, req.Name)
	r.retries.Forget(req)
	r.retries.reset(req)
	r.healthRuns.forget(req.NamespacedName)
}
