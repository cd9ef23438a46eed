package sharedcall

import (
	"context"
	"time"
)

// find returns key's answer if it stands and is not the one refused (held), else the call
// in flight for key, else a call it starts.
func (c *Cache[K, V]) find(ctx context.Context, key K, refused *entry[V], call func(context.Context) (V, error)) (e *entry[V], held bool) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e = c.entries[key]
	switch {
	case e != nil && !e.settled:
		return e, false
	case e != nil && e != refused && !c.expired(e, now):
		return e, true
	}
	// Each new entry first drops the expired ones: the map never holds more than the
	// answers that stand and the calls in flight, and a held answer costs no scan.
	c.sweepLocked(now)
	e = &entry[V]{done: make(chan struct{})}
	c.entries[key] = e
	go c.run(ctx, key, e, call)
	return e, false
}

// run makes the call on a context detached from the caller that started it (whose values
// it keeps), then keeps its answer, or drops a failure, and wakes the waiters.
func (c *Cache[K, V]) run(ctx context.Context, key K, e *entry[V], call func(context.Context) (V, error)) {
	ctx = context.WithoutCancel(ctx)
	if c.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
	}
	e.val, e.err = call(ctx)
	var until time.Time
	if c.opts.Expires != nil {
		until = c.opts.Expires(e.val)
	}

	now := c.clock.Now()
	c.mu.Lock()
	e.settled, e.stored, e.lastUsed, e.until = true, now, now, until
	if e.err != nil && !c.opts.CacheErrors && c.entries[key] == e {
		delete(c.entries, key)
	}
	c.mu.Unlock()
	close(e.done)
}

// wait returns the call's answer, or ctx.Err() if ctx ends first.
func wait[V any](ctx context.Context, e *entry[V]) (V, error) {
	select {
	case <-e.done:
		return e.val, e.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// used records that an answer was given, for Idle.
func (c *Cache[K, V]) used(e *entry[V]) {
	if c.opts.Idle == 0 {
		return
	}
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.After(e.lastUsed) {
		e.lastUsed = now
	}
}

// expired says whether a settled answer no longer stands: past its TTL, or unused for
// longer than Idle and past its own expiry. c.mu must be held.
func (c *Cache[K, V]) expired(e *entry[V], now time.Time) bool {
	if c.opts.TTL > 0 && now.Sub(e.stored) >= c.opts.TTL {
		return true
	}
	return c.opts.Idle > 0 && now.Sub(e.lastUsed) > c.opts.Idle && now.After(e.until)
}

// sweepLocked drops the answers that expired. c.mu must be held.
func (c *Cache[K, V]) sweepLocked(now time.Time) {
	if c.opts.TTL == 0 && c.opts.Idle == 0 {
		return // nothing expires
	}
	for k, e := range c.entries {
		if e.settled && c.expired(e, now) {
			delete(c.entries, k)
		}
	}
}
