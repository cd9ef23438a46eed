package controller

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// ensureToken decides which token the output Secret must hold: the one it holds, when that
// was issued for the connection's current identity, is not due for refresh and no refresh
// was requested; else a new one, shared with every connection of the same identity. Sets
// s.identity, s.idHash, s.existing, s.token, s.plan and s.fresh; no condition (a failure
// lands on Authenticated).
func (r *D365ConnectionReconciler) ensureToken(ctx context.Context, s *reconcileState) *stepError {
	conn := s.conn
	s.identity = entra.Identity{Authority: s.authority.Authority, ClientID: s.cred.ClientID, Credential: s.cred.Credential}
	if s.clientID.ref != nil {
		s.identity.ClientIDShown = s.clientID.shown
	}
	s.idHash = identityHash(r.IdentityHashKey, s.identity, s.authority.Resource, s.env.URL())
	existing, stored, failed := r.readTarget(ctx, conn, s.target, s.idHash)
	if failed != nil {
		return failed
	}
	s.existing = existing
	refreshBefore, jitter := refreshBeforeOf(conn), jitterFor(string(conn.UID))
	_, forced := refreshRequested(conn)
	if stored != nil {
		s.token = *stored
		s.plan = planRefresh(stored.IssuedAt, stored.ExpiresOn, refreshBefore, jitter)
		if !forced && s.now.Before(s.plan.At) {
			return nil
		}
	}

	// A token another connection with the same identity just obtained is reused when it
	// is not itself due for refresh: one token request per identity per refresh.
	// The token being replaced is never taken as its own replacement.
	accept := func(t entra.Token) bool {
		if forced || (stored != nil && !t.IssuedAt.After(stored.IssuedAt)) {
			return false
		}
		return s.now.Before(planRefresh(t.IssuedAt, t.ExpiresOn, refreshBefore, jitter).At)
	}
	tok, err := r.Tokens.Acquire(ctx, s.identity, s.authority.Resource, accept)
	if err != nil {
		failed := classify(err, v1alpha1.ReasonTokenRequestFailed)
		if failed.Reason == v1alpha1.ReasonTenantNotFound || failed.Reason == v1alpha1.ReasonResourceNotFound {
			// The authority rejected us: discover it again next time.
			r.discoveries.forget(s.env.URL())
			conn.Status.DiscoveredFor = ""
		}
		if failed.Terminal {
			// A rejected credential is not kept in memory until the client is pruned.
			r.Tokens.Forget(s.identity)
		}
		recordAcquisition(failed)
		if s.source.identity != "" && failed.Terminal {
			r.identityOutcomes.refused(s.source.identity, s.now, s.scrub(failed), err)
		}
		return failed
	}
	if s.source.identity != "" {
		r.identityOutcomes.accepted(s.source.identity, tok.IssuedAt)
	}
	if tok.Lifetime() <= 0 {
		// Replacing it at once would loop: back off as for any transient failure.
		return &stepError{Reason: v1alpha1.ReasonTokenRequestFailed,
			Message: "Entra ID issued a token without a lifetime (expires_in 0 or less); it is not used, and requested again with backoff"}
	}
	s.token = storedToken{IssuedAt: tok.IssuedAt, ExpiresOn: tok.ExpiresOn, AccessToken: tok.AccessToken}
	s.plan = planRefresh(tok.IssuedAt, tok.ExpiresOn, refreshBefore, jitter)
	// A token the Secret already holds (a Replace template keeps no access_token key to
	// read it back from) is not new: no health check is forced, no acquisition counted.
	s.fresh = existing == nil || existing.Annotations[v1alpha1.AnnotationTokenDigest] != tokenDigest(tok.AccessToken)
	return nil
}

// refreshBeforeOf is spec.refreshBefore, zero when unset.
func refreshBeforeOf(conn *v1alpha1.D365Connection) time.Duration {
	if conn.Spec.RefreshBefore == nil {
		return 0
	}
	return conn.Spec.RefreshBefore.Duration
}

// maxRequestedAt is the longest requested-at value honoured: it is echoed in the status.
const maxRequestedAt = 64

// refreshRequested returns the requested-at annotation and whether it asks for a refresh
// not handled yet. A value longer than maxRequestedAt is ignored (recordToken says so).
func refreshRequested(conn *v1alpha1.D365Connection) (string, bool) {
	requested := conn.Annotations[v1alpha1.AnnotationRequestedAt]
	if len(requested) > maxRequestedAt {
		return "", false
	}
	return requested, requested != "" && requested != conn.Status.LastHandledRequestedAt
}

// recordToken puts the held token's times, the handled refresh request and the
// Authenticated condition in the status.
func recordToken(s *reconcileState) {
	st := &s.conn.Status
	st.LastRefreshTime = &metav1.Time{Time: s.token.IssuedAt}
	st.TokenExpiresAt = &metav1.Time{Time: s.token.ExpiresOn}
	st.NextRefreshTime = &metav1.Time{Time: s.plan.At}
	if requested, forced := refreshRequested(s.conn); forced && s.fresh {
		st.LastHandledRequestedAt = requested
	}
	message := fmt.Sprintf("Entra ID issued the token in Secret %q at %s", st.TargetSecretName, s.token.IssuedAt.UTC().Format(time.RFC3339))
	if s.plan.RefreshBeforeIgnored {
		message += fmt.Sprintf("; spec.refreshBefore (%s) does not fit in the token's lifetime (%s), so it is refreshed at half its lifetime instead",
			refreshBeforeOf(s.conn), s.token.ExpiresOn.Sub(s.token.IssuedAt))
	}
	if len(s.conn.Annotations[v1alpha1.AnnotationRequestedAt]) > maxRequestedAt {
		message += fmt.Sprintf("; the %s annotation is longer than %d characters and is ignored", v1alpha1.AnnotationRequestedAt, maxRequestedAt)
	}
	setCondition(s.conn, metav1.NewTime(s.now), v1alpha1.ConditionAuthenticated, metav1.ConditionTrue, v1alpha1.ReasonTokenIssued, message)
}
