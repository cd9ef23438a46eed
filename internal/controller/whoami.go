package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/sharedcall"
)

// whoAmIShareWindow is how long one WhoAmI answer stands for every connection that holds
// the same token for the same environment. It is short next to any health interval (30s at
// least), so Healthy is never older than the interval says by more than this.
const whoAmIShareWindow = 30 * time.Second

// whoAmITimeout bounds one shared WhoAmI, which runs detached from the reconciles waiting
// for it; its request is bounded by the HTTP client's timeout too.
const whoAmITimeout = 2 * time.Minute

// whoAmIs shares WhoAmI between connections holding the same token for the same
// environment. They share an identity, so Dataverse would give each the same answer, and
// it counts its service protection limits per user: a thousand connections of one
// application user would otherwise spend a thousand of its requests on every health round.
// Sharing is keyed by the token itself (a hash of it), so a connection is only ever told
// what its own token can do.
type whoAmIs struct {
	// callers is the clock the answers age on: the reconciles' own (fake in tests), which
	// reaches whoAmIs only as the time each caller brings.
	callers *callerTime
	recent  *sharedcall.Cache[string, whoAmIAnswer]
}

type whoAmIAnswer struct {
	at  time.Time
	who dataverse.Identity
}

func newWhoAmIs() *whoAmIs {
	callers := &callerTime{}
	// Failures are kept too: a missing application user is told once per window, not asked
	// again by every connection.
	recent := sharedcall.New[string](sharedcall.Options[whoAmIAnswer]{
		Timeout: whoAmITimeout, TTL: whoAmIShareWindow, CacheErrors: true, Clock: callers,
	})
	return &whoAmIs{callers: callers, recent: recent}
}

// check returns the answer to a WhoAmI with accessToken against envURL, asked at most
// whoAmIShareWindow before now; concurrent callers for the same key wait for one call.
func (w *whoAmIs) check(ctx context.Context, env Environment, envURL, accessToken string, now time.Time) (dataverse.Identity, error) {
	sum := sha256.Sum256([]byte(accessToken))
	key := envURL + "\x00" + hex.EncodeToString(sum[:])
	w.callers.saw(now)
	// An answer asked after now (by a caller whose reconcile started a moment later) is
	// newer, not older: it is reused too, so two reconciles a second apart ask once.
	fresh := func(a whoAmIAnswer) bool { return now.Sub(a.at) < whoAmIShareWindow }
	a, err := w.recent.Get(ctx, key, fresh, func(ctx context.Context) (whoAmIAnswer, error) {
		start := time.Now()
		who, err := env.WhoAmI(ctx, envURL, accessToken)
		recordBudget(envURL, who.UserID, who.Budget)
		recordThrottle(envURL, err)
		reason := v1alpha1.ReasonWhoAmISucceeded
		if err != nil {
			reason = classify(err, v1alpha1.ReasonWhoAmIFailed).Reason
		}
		recordWhoAmI(reason, time.Since(start))
		return whoAmIAnswer{at: now, who: who}, err
	})
	return a.who, err
}

// callerTime is a clock that reads the latest time a caller of check brought, so answers
// expire (and are dropped) on the clock they were asked on.
type callerTime struct {
	mu     sync.Mutex
	latest time.Time
}

func (c *callerTime) saw(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.latest) {
		c.latest = t
	}
}

// Now returns the latest time a caller brought.
func (c *callerTime) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest
}

// Since returns the time elapsed since t on this clock.
func (c *callerTime) Since(t time.Time) time.Duration {
	return c.Now().Sub(t)
}
