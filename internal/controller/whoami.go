package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
)

// whoAmIShareWindow is how long one WhoAmI answer stands for every connection that holds
// the same token for the same environment. It is short next to any health interval (30s at
// least), so Healthy is never older than the interval says by more than this.
const whoAmIShareWindow = 30 * time.Second

// whoAmIs shares WhoAmI between connections holding the same token for the same
// environment. They share an identity, so Dataverse would give each the same answer, and
// it counts its service protection limits per user: a thousand connections of one
// application user would otherwise spend a thousand of its requests on every health round.
// Sharing is keyed by the token itself (a hash of it), so a connection is only ever told
// what its own token can do.
type whoAmIs struct {
	group  singleflight.Group
	mu     sync.Mutex
	recent map[string]whoAmIAnswer
}

type whoAmIAnswer struct {
	at  time.Time
	who dataverse.Identity
	err error
}

func newWhoAmIs() *whoAmIs {
	return &whoAmIs{recent: map[string]whoAmIAnswer{}}
}

// check returns the answer to a WhoAmI with accessToken against envURL, asked at most
// whoAmIShareWindow before now; concurrent callers for the same key wait for one call.
func (w *whoAmIs) check(ctx context.Context, env Environment, envURL, accessToken string, now time.Time) (dataverse.Identity, error) {
	sum := sha256.Sum256([]byte(accessToken))
	key := envURL + "\x00" + hex.EncodeToString(sum[:])
	if a, ok := w.answer(key, now); ok {
		return a.who, a.err
	}
	v, _, _ := w.group.Do(key, func() (any, error) {
		// A caller that waited for the lock may find the answer already there.
		if a, ok := w.answer(key, now); ok {
			return a, nil
		}
		start := time.Now()
		who, err := env.WhoAmI(ctx, envURL, accessToken)
		reason := v1alpha1.ReasonWhoAmISucceeded
		if err != nil {
			reason = classify(err, v1alpha1.ReasonWhoAmIFailed).Reason
		}
		recordWhoAmI(reason, time.Since(start))
		a := whoAmIAnswer{at: now, who: who, err: err}
		w.store(key, a)
		return a, nil
	})
	a := v.(whoAmIAnswer)
	return a.who, a.err
}

func (w *whoAmIs) answer(key string, now time.Time) (whoAmIAnswer, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, ok := w.recent[key]
	if !ok || now.Sub(a.at) >= whoAmIShareWindow || now.Before(a.at) {
		return whoAmIAnswer{}, false
	}
	return a, true
}

// store keeps an answer and drops the ones too old to be shared, so the map holds only the
// tokens checked in the last window.
func (w *whoAmIs) store(key string, a whoAmIAnswer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, old := range w.recent {
		if a.at.Sub(old.at) >= whoAmIShareWindow {
			delete(w.recent, k)
		}
	}
	w.recent[key] = a
}
