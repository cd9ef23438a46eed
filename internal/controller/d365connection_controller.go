// Package controller reconciles D365Connections: it keeps a fresh Entra ID token for a
// Dataverse environment in a Secret and reports WhoAmI health in the connection's status.
package controller

import (
	"context"
	"fmt"
	"net/url"
	"sync"
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
}

// Environment talks to Dataverse (dataverse.Client).
type Environment interface {
	Discover(ctx context.Context, environmentURL string) (dataverse.Authority, error)
	WhoAmI(ctx context.Context, environmentURL, accessToken string) (dataverse.Identity, error)
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
}

// D365ConnectionReconciler reconciles a D365Connection object.
type D365ConnectionReconciler struct {
	client.Client
	Dependencies

	secrets     *referencedSecretData
	discoveries *discoveries
	retries     retryCounter
	healthRuns  healthRuns
	whoAmIs     *whoAmIs
}

// New builds the reconciler.
func New(d Dependencies) *D365ConnectionReconciler {
	if d.Clock == nil {
		d.Clock = clock.RealClock{}
	}
	return &D365ConnectionReconciler{
		Client:       d.Client,
		Dependencies: d,
		secrets:      newReferencedSecretData(d.SecretMetadata, d.APIReader),
		discoveries:  newDiscoveries(),
		retries:      retryCounter{attempts: map[types.NamespacedName]int{}},
		healthRuns:   healthRuns{last: map[types.NamespacedName]time.Time{}},
		whoAmIs:      newWhoAmIs(),
	}
}

// +kubebuilder:rbac:groups=d365.operators.dev,resources=d365connections,verbs=get;list;watch
// +kubebuilder:rbac:groups=d365.operators.dev,resources=d365connections/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile fetches the connection, runs the steps (credentials → authority → token →
// Secret → health) and writes the status once, only when it changed.
func (r *D365ConnectionReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	conn := &v1alpha1.D365Connection{}
	if err := r.Get(ctx, req.NamespacedName, conn); err != nil {
		if apierrors.IsNotFound(err) {
			// The output Secret goes with it (owner reference); drop what we kept.
			forgetSchedule(req.Namespace, req.Name)
			r.retries.reset(req.NamespacedName)
			r.healthRuns.forget(req.NamespacedName)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if !conn.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	base := conn.DeepCopy()
	var result reconcile.Result
	if conn.Spec.Suspend {
		log.FromContext(ctx).V(1).Info("Connection is suspended; nothing is called or written")
		markSuspended(conn, metav1.NewTime(r.Clock.Now().Truncate(time.Second)))
	} else {
		result = r.reconcileConnection(ctx, conn)
	}
	conn.Status.ObservedGeneration = conn.Generation
	if !equality.Semantic.DeepEqual(base.Status, conn.Status) {
		if err := r.Status().Patch(ctx, conn, client.MergeFrom(base)); err != nil {
			return reconcile.Result{}, err
		}
	}
	r.announce(base, conn)
	recordSchedule(conn)
	return result, nil
}

// reconcileConnection runs the steps and sets the conditions. Failures are returned as
// requeues, not errors: terminal ones wait for a change (watches), transient ones retry
// with a bounded backoff that honours Retry-After.
func (r *D365ConnectionReconciler) reconcileConnection(ctx context.Context, conn *v1alpha1.D365Connection) reconcile.Result {
	now := r.Clock.Now().Truncate(time.Second)
	mnow := metav1.NewTime(now)
	key := types.NamespacedName{Namespace: conn.Namespace, Name: conn.Name}
	name := targetName(conn)
	conn.Status.TargetSecretName = name

	state, failed := r.ensureToken(ctx, conn, name, now)
	if failed != nil {
		message := failed.Message
		if state.token.AccessToken != "" && now.Before(state.token.ExpiresOn) {
			message += fmt.Sprintf(". The token in Secret %q stays valid until %s", name, state.token.ExpiresOn.UTC().Format(time.RFC3339))
		}
		withExpiry := *failed
		withExpiry.Message = message
		failed = &withExpiry
		setCondition(conn, mnow, v1alpha1.ConditionAuthenticated, metav1.ConditionFalse, failed.Reason, failed.Message)
		summarize(conn, mnow, failed, "")
		log.FromContext(ctx).Info("Connection not ready", "reason", failed.Reason, "terminal", failed.Terminal)
		if failed.Terminal {
			r.retries.reset(key)
			return reconcile.Result{}
		}
		delay := retryDelay(r.retries.next(key), failed.RetryAfter, state.token.ExpiresOn.Sub(now))
		return reconcile.Result{RequeueAfter: delay}
	}
	r.retries.reset(key)

	healthAt, unhealthy := r.checkHealth(ctx, conn, state.envURL, state.token.AccessToken, state.fresh, now)
	summarize(conn, mnow, unhealthy, fmt.Sprintf("Token in Secret %q is valid until %s; next refresh at %s",
		name, state.token.ExpiresOn.UTC().Format(time.RFC3339), state.plan.At.UTC().Format(time.RFC3339)))
	return reconcile.Result{RequeueAfter: nextWake(now, state.plan.At, healthAt)}
}

// tokenState is the token the output Secret holds after ensureToken.
type tokenState struct {
	envURL string
	token  storedToken
	plan   refreshPlan
	// fresh: the token was written by this reconcile.
	fresh bool
}

// ensureToken makes sure the output Secret holds a token for the connection's current
// identity that is not due for refresh. Sets Authenticated on success.
func (r *D365ConnectionReconciler) ensureToken(ctx context.Context, conn *v1alpha1.D365Connection, name string, now time.Time) (tokenState, *stepError) {
	envU, envURL, err := environmentRoot(conn.Spec.EnvironmentURL)
	if err != nil {
		return tokenState{}, terminal(v1alpha1.ReasonEnvironmentNotTrusted, "spec.environmentURL is not a URL: %v", err)
	}
	state := tokenState{envURL: envURL}
	if err := r.Trust.CheckEnvironment(envU); err != nil {
		return state, classify(err, v1alpha1.ReasonEnvironmentNotTrusted)
	}
	cred, failed := r.resolveCredential(ctx, conn)
	if failed != nil {
		return state, failed
	}
	auth, failed := r.resolveAuthority(ctx, conn, envURL)
	if failed != nil {
		return state, failed
	}
	id := entra.Identity{Authority: auth.Authority, ClientID: cred.ClientID, Credential: cred.Credential}
	idHash := identityHash(id, auth.Resource, envURL)
	existing, stored, failed := r.readTarget(ctx, conn, name, idHash)
	if failed != nil {
		return state, failed
	}

	var refreshBefore time.Duration
	if conn.Spec.RefreshBefore != nil {
		refreshBefore = conn.Spec.RefreshBefore.Duration
	}
	jitter := jitterFor(string(conn.UID))
	requested := conn.Annotations[v1alpha1.AnnotationRequestedAt]
	forced := requested != "" && requested != conn.Status.LastHandledRequestedAt
	if stored != nil {
		state.token = *stored
		state.plan = planRefresh(stored.IssuedAt, stored.ExpiresOn, refreshBefore, jitter)
		if !forced && now.Before(state.plan.At) {
			r.recordToken(conn, state, refreshBefore, now)
			return state, nil
		}
	}

	// A token another connection with the same identity just obtained is reused when it
	// is not itself due for refresh: one token request per identity per refresh.
	// The token being replaced is never taken as its own replacement.
	accept := func(t entra.Token) bool {
		if forced || (stored != nil && !t.IssuedAt.After(stored.IssuedAt)) {
			return false
		}
		return now.Before(planRefresh(t.IssuedAt, t.ExpiresOn, refreshBefore, jitter).At)
	}
	tok, err := r.Tokens.Acquire(ctx, id, auth.Resource, accept)
	if err != nil {
		failed := classify(err, v1alpha1.ReasonTokenRequestFailed)
		if failed.Reason == v1alpha1.ReasonTenantNotFound || failed.Reason == v1alpha1.ReasonResourceNotFound {
			// The authority rejected us: discover it again next time.
			r.discoveries.forget(envURL)
			conn.Status.DiscoveredFor = ""
		}
		recordAcquisition(failed)
		return state, failed
	}
	if failed := r.writeTarget(ctx, conn, existing, name, envURL, idHash, tok); failed != nil {
		return state, failed
	}
	recordAcquisition(nil)
	state.token = storedToken{IssuedAt: tok.IssuedAt, ExpiresOn: tok.ExpiresOn, AccessToken: tok.AccessToken}
	state.plan = planRefresh(tok.IssuedAt, tok.ExpiresOn, refreshBefore, jitter)
	state.fresh = true
	if forced {
		conn.Status.LastHandledRequestedAt = requested
	}
	r.recordToken(conn, state, refreshBefore, now)
	return state, nil
}

// recordToken puts the token's times and the Authenticated condition in the status.
func (r *D365ConnectionReconciler) recordToken(conn *v1alpha1.D365Connection, state tokenState, refreshBefore time.Duration, now time.Time) {
	st := &conn.Status
	st.LastRefreshTime = &metav1.Time{Time: state.token.IssuedAt}
	st.TokenExpiresAt = &metav1.Time{Time: state.token.ExpiresOn}
	st.NextRefreshTime = &metav1.Time{Time: state.plan.At}
	message := fmt.Sprintf("Entra ID issued the token in Secret %q at %s", st.TargetSecretName, state.token.IssuedAt.UTC().Format(time.RFC3339))
	if state.plan.RefreshBeforeIgnored {
		message += fmt.Sprintf("; spec.refreshBefore (%s) does not fit in the token's lifetime (%s), so it is refreshed at half its lifetime instead",
			refreshBefore, state.token.ExpiresOn.Sub(state.token.IssuedAt))
	}
	setCondition(conn, metav1.NewTime(now), v1alpha1.ConditionAuthenticated, metav1.ConditionTrue, v1alpha1.ReasonTokenIssued, message)
}

// announce emits events on transitions of Ready only: first token, failure, recovery.
// A routine refresh changes nothing here and emits nothing.
func (r *D365ConnectionReconciler) announce(before, after *v1alpha1.D365Connection) {
	if r.Recorder == nil {
		return
	}
	was, is := findCondition(before, v1alpha1.ConditionReady), findCondition(after, v1alpha1.ConditionReady)
	if was.Status == is.Status && was.Reason == is.Reason {
		return
	}
	switch {
	case is.Status == metav1.ConditionTrue && was.Status == metav1.ConditionFalse:
		r.Recorder.Eventf(after, nil, "Normal", "Recovered", "Reconcile", "%s", is.Message)
	case is.Status == metav1.ConditionTrue:
		r.Recorder.Eventf(after, nil, "Normal", v1alpha1.ReasonTokenIssued, "Reconcile", "%s", is.Message)
	case is.Status == metav1.ConditionFalse:
		r.Recorder.Eventf(after, nil, "Warning", is.Reason, "Reconcile", "%s", is.Message)
	}
}

// retryCounter counts consecutive transient failures per connection, for the backoff.
type retryCounter struct {
	mu       sync.Mutex
	attempts map[types.NamespacedName]int
}

func (c *retryCounter) next(key types.NamespacedName) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.attempts[key]
	c.attempts[key] = n + 1
	return n
}

func (c *retryCounter) reset(key types.NamespacedName) {
	c.mu.Lock()
	delete(c.attempts, key)
	c.mu.Unlock()
}
