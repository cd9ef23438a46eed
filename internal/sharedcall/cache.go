// Package sharedcall shares one call per key between concurrent callers and keeps its
// answer for as long as its owner says the answer stands.
//
// Libraries considered: golang.org/x/sync/singleflight keys calls by string and returns
// untyped values, and its answer would still need a map of its own, with a window in which
// a call has ended but its answer is not stored yet (callers then call again);
// k8s.io/apimachinery's cache.Expiring is untyped, needs a full clock.Clock, knows only a
// TTL counted from the last Set and has no idle expiry. Here a call and its answer are one
// entry, so neither window exists.
package sharedcall

import (
	"context"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Options says how long a shared call may run and how long its answer is kept.
type Options[V any] struct {
	// Timeout bounds each shared call. The call runs on a context detached from its callers'
	// (one caller giving up must not fail the others), so this is its own bound; zero means
	// none beyond what the call sets itself.
	Timeout time.Duration
	// TTL is how long an answer stands after its call ended; zero means until Forget.
	TTL time.Duration
	// Idle drops an answer that no caller was given for longer than this, once Expires (if
	// set) has passed too; zero means answers are not dropped for idleness.
	Idle time.Duration
	// Expires returns when an answer ends by itself (a token's expiry): with Idle, an unused
	// answer is kept until then.
	Expires func(V) time.Time
	// CacheErrors keeps a failed answer like a successful one; otherwise a failure goes only
	// to the callers that shared its call, and the next caller calls again.
	CacheErrors bool
	// Clock ages answers; nil means real time.
	Clock clock.PassiveClock
}

// Cache shares one call per key between concurrent callers and keeps its answer. It is
// safe for concurrent use; the zero value is not, use New.
type Cache[K comparable, V any] struct {
	opts  Options[V]
	clock clock.PassiveClock

	mu      sync.Mutex
	entries map[K]*entry[V] // one per key: a call in flight, or its answer
}

// entry is one call and, once done is closed, its answer.
type entry[V any] struct {
	done chan struct{}
	val  V
	err  error

	// Set under Cache.mu when the call ends (lastUsed also on each use).
	settled  bool
	stored   time.Time
	until    time.Time
	lastUsed time.Time
}

// New returns an empty Cache.
func New[K comparable, V any](o Options[V]) *Cache[K, V] {
	clk := o.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Cache[K, V]{opts: o, clock: clk, entries: map[K]*entry[V]{}}
}

// Get returns key's answer: the held one if it still stands and fresh accepts it (a nil
// fresh accepts any), else the answer of one call to call shared by all concurrent callers
// for key. A shared call's answer goes to all who waited for it even if their fresh would
// refuse it: fresh decides reuse, not what a new call may return. fresh runs without the
// cache's lock, so it may call the cache.
//
// A caller whose ctx ends first returns ctx.Err() at once; the call goes on for the others
// (on context.WithoutCancel of the ctx of the caller that started it, plus Timeout) and its
// answer is kept.
func (c *Cache[K, V]) Get(ctx context.Context, key K, fresh func(V) bool, call func(context.Context) (V, error)) (V, error) {
	var refused *entry[V]
	for {
		e, held := c.find(ctx, key, refused, call)
		if !held {
			return wait(ctx, e)
		}
		if fresh == nil || fresh(e.val) {
			c.used(e)
			return e.val, e.err
		}
		// Refused: look again, since another caller may have replaced it meanwhile.
		refused = e
	}
}

// Forget drops key's answer, so that the next caller calls again. A call in flight is left
// to finish and its answer kept: it replaced any older answer when it started.
func (c *Cache[K, V]) Forget(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && e.settled {
		delete(c.entries, key)
	}
}

// ForgetIf is Forget for every key that match returns true for. match runs under the
// cache's lock: it must not call the cache.
func (c *Cache[K, V]) ForgetIf(match func(K) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.settled && match(k) {
			delete(c.entries, k)
		}
	}
}

// Keys returns the keys that have an answer held or a call in flight, after dropping the
// expired answers (which an O(n) walk may as well do).
func (c *Cache[K, V]) Keys() []K {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweepLocked(now)
	keys := make([]K, 0, len(c.entries))
	for k := range c.entries {
		keys = append(keys, k)
	}
	return keys
}

// Len returns how many keys have an answer held or a call in flight, after dropping the
// expired answers.
func (c *Cache[K, V]) Len() int {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweepLocked(now)
	return len(c.entries)
}
