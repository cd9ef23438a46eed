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
// happen before it expires), between 30s and 5m, then stretched by up to a fifth by jitter
// in [0,1), so that connections that failed together do not retry together. A server's
// Retry-After wins over a shorter delay, but never by more than a third of the remaining
// validity: at least two attempts still happen before the token in use expires.
func retryDelay(attempt int, retryAfter, remaining time.Duration, jitter float64) time.Duration {
	const base, floor, ceiling = 5 * time.Second, 30 * time.Second, 5 * time.Minute
	limit := ceiling
	if remaining > 0 {
		limit = min(max(remaining/4, floor), ceiling)
		retryAfter = min(retryAfter, remaining/3)
	}
	d := limit
	if attempt < 10 {
		d = min(base<<attempt, limit)
	}
	d += time.Duration(jitter * float64(d) / maxJitterShare)
	return max(d, retryAfter)
}

// terminalRetryDelay is when a failure that only a user's change can fix (a rejected
// secret, a missing Secret) is tried again while the token in use is still valid: a
// transient refusal that looks terminal must not let a working connection's token run out
// silently. Half the remaining validity, at most an hour, made earlier by up to a fifth by
// jitter; zero (wait for a change) when no valid token is held.
func terminalRetryDelay(remaining time.Duration, jitter float64) time.Duration {
	if remaining <= time.Minute {
		return 0
	}
	d := min(remaining/2, time.Hour)
	return d - time.Duration(jitter*float64(d)/maxJitterShare)
}

// jitteredInterval makes a periodic wait (the health check) earlier by up to a tenth, so
// that checks of connections created together spread out.
func jitteredInterval(interval time.Duration, jitter float64) time.Duration {
	return interval - time.Duration(jitter*float64(interval)/(2*maxJitterShare))
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
