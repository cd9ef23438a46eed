package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
	"github.com/d365-operator/d365-operator/internal/environment"
)

// reconcileState is one reconcile of one connection: its inputs, and what each step found
// for the steps after it. Each field is set by one step only.
type reconcileState struct {
	conn *v1alpha1.D365Connection
	// now is the reconcile's time, whole seconds from the injected clock.
	now time.Time
	// target is the output Secret's name.
	target string

	env      environment.Environment // environment
	source   signInSource            // sign-in source
	clientID clientIDOf              // credentials
	cred     credential              // credentials
	// secretValues are the values read from Secrets (credentials), each with the Secret key
	// it came from: no message may carry one (see scrub).
	secretValues map[string]v1alpha1.SecretKeyRef
	authority    resolvedAuthority // authority
	identity     entra.Identity    // token: who signs in, and its fingerprint on the output Secret
	idHash       string
	existing     *corev1.Secret // token: the output Secret as found (nil when absent)
	token        storedToken    // token: the token the output Secret must hold
	plan         refreshPlan    // token: when that token is replaced
	fresh        bool           // token: the token was acquired by this reconcile
	healthAt     time.Time      // health: when the next health check is due (zero: none)
}

// step is one stage of a reconcile. A failure lands on condition (Authenticated or Healthy)
// and decides Ready; the steps after a failed one do not run.
type step struct {
	name      string
	condition string
	run       func(ctx context.Context, s *reconcileState) *stepError
	// signIn marks the steps whose failures concern the sign-in source (namingIdentity).
	signIn bool
}

// steps are a reconcile's stages, in order. Each one's contract (the fields and the
// condition it sets) is on its function.
func (r *D365ConnectionReconciler) steps() []step {
	return []step{
		{"environment", v1alpha1.ConditionAuthenticated, r.checkEnvironment, false},
		{"sign-in source", v1alpha1.ConditionAuthenticated, r.resolveSignInSource, false},
		{"credentials", v1alpha1.ConditionAuthenticated, r.resolveCredential, true},
		{"authority", v1alpha1.ConditionAuthenticated, r.resolveAuthority, true},
		{"token", v1alpha1.ConditionAuthenticated, r.ensureToken, true},
		{"output Secret", v1alpha1.ConditionAuthenticated, r.ensureSecret, false},
		{"health", v1alpha1.ConditionHealthy, r.checkHealth, false},
	}
}

// runSteps runs the steps, sets the failed step's condition, summarises Ready, Reconciling
// and Stalled, and says when to come back.
func (r *D365ConnectionReconciler) runSteps(ctx context.Context, req reconcile.Request, conn *v1alpha1.D365Connection) (reconcile.Result, error) {
	s := &reconcileState{conn: conn, now: r.Clock.Now().Truncate(time.Second), target: targetName(conn)}
	for _, st := range r.steps() {
		failed := st.run(ctx, s)
		if failed == nil {
			continue
		}
		failed = s.scrub(s.withTokenValidity(st.condition, s.namingIdentity(st.signIn, failed)))
		mnow := metav1.NewTime(s.now)
		setCondition(conn, mnow, st.condition, metav1.ConditionFalse, failed.Reason, failed.Message)
		summarize(conn, mnow, failed, "")
		log.FromContext(ctx).Info("Connection not ready", "step", st.name, "reason", failed.Reason, "terminal", failed.Terminal)
		return r.retryAfterFailure(req, s, st.condition, failed)
	}
	r.retries.reset(req)
	summarize(conn, metav1.NewTime(s.now), nil, fmt.Sprintf("Token in Secret %q is valid until %s; next refresh at %s",
		s.target, s.token.ExpiresOn.UTC().Format(time.RFC3339), s.plan.At.UTC().Format(time.RFC3339)))
	return reconcile.Result{RequeueAfter: nextWake(s.now, s.plan.At, s.healthAt)}, nil
}

// rememberSecretValue records a value read from a Secret, so that scrub can keep it out of
// every message. Values shorter than minScrubbed are not recorded: replacing them would
// mangle messages, and no message is built from such a value (client IDs are GUIDs).
func (s *reconcileState) rememberSecretValue(value string, ref v1alpha1.SecretKeyRef) {
	if len(value) < minScrubbed {
		return
	}
	if s.secretValues == nil {
		s.secretValues = map[string]v1alpha1.SecretKeyRef{}
	}
	s.secretValues[value] = ref
}

// minScrubbed is the shortest Secret value scrub replaces.
const minScrubbed = 6

// scrub replaces every value read from a Secret in a failure's message by where it came
// from. Messages are built not to quote such values (see readClientID); this is the last
// line of defence before the message reaches the status, an event or a log, since a
// connection author may not be allowed to read the Secrets the connection names.
func (s *reconcileState) scrub(failed *stepError) *stepError {
	msg := failed.Message
	for value, ref := range s.secretValues {
		msg = strings.ReplaceAll(msg, value, fmt.Sprintf("[the value of Secret %q key %q]", ref.Name, ref.Key))
	}
	if msg == failed.Message {
		return failed
	}
	scrubbed := *failed
	scrubbed.Message = msg
	return &scrubbed
}

// namingIdentity says, in a sign-in failure of a connection that uses a ClusterD365Identity,
// whose sign-in failed: the connection's author may not know where the credential lives.
func (s *reconcileState) namingIdentity(signInStep bool, failed *stepError) *stepError {
	named := fmt.Sprintf("ClusterD365Identity %q", s.source.identity)
	if s.source.identity == "" || !signInStep || strings.Contains(failed.Message, named) {
		return failed
	}
	withName := *failed
	withName.Message = "Signing in as " + named + ": " + failed.Message
	return &withName
}

// withTokenValidity adds to a sign-in failure that the token already in the output Secret
// stays usable, and until when: the failure does not mean the pods lost access. A failure
// before the token step (a deleted identity or Secret) knows the held token from the status
// the last good reconcile wrote; the output Secret is left as it is either way.
func (s *reconcileState) withTokenValidity(condition string, failed *stepError) *stepError {
	if condition != v1alpha1.ConditionAuthenticated {
		return failed
	}
	until := s.heldUntil()
	if !s.now.Before(until) {
		return failed
	}
	withExpiry := *failed
	withExpiry.Message += fmt.Sprintf(". The token in Secret %q stays valid until %s", s.target, until.UTC().Format(time.RFC3339))
	return &withExpiry
}

// heldUntil is when the token the output Secret holds expires: the one the token step read,
// or, when an earlier step failed, the one the last good reconcile recorded in the status.
func (s *reconcileState) heldUntil() time.Time {
	if s.token.AccessToken != "" {
		return s.token.ExpiresOn
	}
	if held := s.conn.Status.TokenExpiresAt; held != nil && s.conn.Status.TargetSecretName == s.target {
		return held.Time
	}
	return time.Time{}
}

// retryAfterFailure returns a failed step as an error for controller-runtime's metrics and
// plans its retry: a terminal sign-in failure waits for a change (the watches), or, while a
// valid token is held, is tried again before it expires (terminalRetryDelay); a transient
// one backs off, honouring Retry-After, within the held token's validity; a failed health
// check comes back when the token or the next check is due.
func (r *D365ConnectionReconciler) retryAfterFailure(req reconcile.Request, s *reconcileState, condition string, failed *stepError) (reconcile.Result, error) {
	if condition == v1alpha1.ConditionHealthy {
		r.retries.reset(req)
		r.retries.plan(req, nextWake(s.now, s.plan.At, s.healthAt))
		return reconcile.Result{}, failed
	}
	remaining := s.heldUntil().Sub(s.now)
	if failed.Terminal {
		r.retries.reset(req)
		if wait := terminalRetryDelay(remaining, jitterFor(string(s.conn.UID))); wait > 0 {
			// Still Stalled, but tried again before the held token runs out.
			r.retries.plan(req, wait)
			return reconcile.Result{}, failed
		}
		if remaining > 0 {
			// Once more when it has run out, so the message stops saying it is valid.
			r.retries.plan(req, remaining+time.Second)
			return reconcile.Result{}, failed
		}
		return reconcile.Result{}, reconcile.TerminalError(failed)
	}
	r.retries.planBackoff(req, failed.RetryAfter, remaining, string(s.conn.UID))
	return reconcile.Result{}, failed
}
