package controller

import (
	"hash/fnv"
	"time"
)

// The refresh schedule is a pure function of a token's issue and expiry times, so it
// survives operator restarts unchanged and can be tested without a cluster.

const (
	// maxJitterShare caps the jitter at this share of the refresh window: refreshes of
	// tokens issued together spread out instead of arriving as one wave.
	maxJitterShare = 5
	// minHonouredRemainder: refreshBefore must leave at least a tenth of the lifetime
	// between issue and refresh, or every token would be replaced moments after issue.
	minHonouredRemainder = 10
	// defaultHealthInterval is the WhoAmI period when spec.healthCheck.interval is unset.
	defaultHealthInterval = 5 * time.Minute
)

// refreshPlan says when a token is replaced and whether spec.refreshBefore was honoured.
type refreshPlan struct {
	At time.Time
	// RefreshBeforeIgnored is true when refreshBefore does not fit in the token's lifetime
	// and half the lifetime was used instead.
	RefreshBeforeIgnored bool
}

// planRefresh returns when a token issued at issued and expiring at expires is replaced.
// The window before expiry is refreshBefore, or half the lifetime when refreshBefore is
// zero or does not fit. jitter in [0,1) moves the refresh earlier by up to a fifth of the
// window (never past halfway between issue and the window). The result is truncated to
// the second.
func planRefresh(issued, expires time.Time, refreshBefore time.Duration, jitter float64) refreshPlan {
	lifetime := expires.Sub(issued)
	if lifetime <= 0 {
		return refreshPlan{At: issued.Truncate(time.Second)}
	}
	window := lifetime / 2
	ignored := false
	if refreshBefore > 0 {
		if refreshBefore <= lifetime-lifetime/minHonouredRemainder {
			window = refreshBefore
		} else {
			ignored = true
		}
	}
	spread := min(window/maxJitterShare, (lifetime-window)/2)
	at := expires.Add(-window).Add(-time.Duration(jitter * float64(spread)))
	return refreshPlan{At: at.Truncate(time.Second), RefreshBeforeIgnored: ignored}
}

// jitterFor derives a connection's jitter from its UID: chosen once, stable across
// restarts, and different between connections.
func jitterFor(uid string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(uid))
	return float64(h.Sum64()%10000) / 10000
}

// retryDelay is the wait before retrying a transient failure: exponential from 5s,
// capped at a quarter of the remaining validity of the token in use (so several attempts
// happen before it expires), between 30s and 5m; a server's Retry-After always wins
// over a shorter delay.
func retryDelay(attempt int, retryAfter, remaining time.Duration) time.Duration {
	const base, floor, ceiling = 5 * time.Second, 30 * time.Second, 5 * time.Minute
	limit := ceiling
	if remaining > 0 {
		limit = min(max(remaining/4, floor), ceiling)
	}
	d := limit
	if attempt < 10 {
		d = min(base<<attempt, limit)
	}
	return max(d, retryAfter)
}

// nextWake is the earliest of the given times that is not zero, relative to now, at least
// a second away.
func nextWake(now time.Time, times ...time.Time) time.Duration {
	var earliest time.Time
	for _, t := range times {
		if !t.IsZero() && (earliest.IsZero() || t.Before(earliest)) {
			earliest = t
		}
	}
	if earliest.IsZero() {
		return 0
	}
	return max(earliest.Sub(now), time.Second)
}
