package controller

import (
	"testing"
	"time"
)

func TestPlanRefresh(t *testing.T) {
	issued := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name          string
		lifetime      time.Duration
		refreshBefore time.Duration
		jitter        float64
		wantAt        time.Duration // after issue
		wantIgnored   bool
	}{
		{"a 60-minute token is replaced with half its lifetime left", 60 * time.Minute, 0, 0, 30 * time.Minute, false},
		{"a 90-minute token is replaced with 45 minutes to spare", 90 * time.Minute, 0, 0, 45 * time.Minute, false},
		{"jitter moves the refresh earlier by at most a fifth of the window", 60 * time.Minute, 0, 0.9999, 24 * time.Minute, false},
		{"refreshBefore sets the window", 60 * time.Minute, 10 * time.Minute, 0, 50 * time.Minute, false},
		{"refreshBefore longer than the lifetime falls back to half", 60 * time.Minute, 2 * time.Hour, 0, 30 * time.Minute, true},
		{"refreshBefore leaving under a tenth of the lifetime falls back to half", 60 * time.Minute, 58 * time.Minute, 0, 30 * time.Minute, true},
		{"jitter never pulls a long refreshBefore to before the issue time", 60 * time.Minute, 50 * time.Minute, 0.9999, 5 * time.Minute, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := planRefresh(issued, issued.Add(c.lifetime), c.refreshBefore, c.jitter)
			if got := p.At.Sub(issued); got != c.wantAt {
				t.Errorf("refresh %v after issue, want %v", got, c.wantAt)
			}
			if p.RefreshBeforeIgnored != c.wantIgnored {
				t.Errorf("RefreshBeforeIgnored = %v, want %v", p.RefreshBeforeIgnored, c.wantIgnored)
			}
			if p.At.Nanosecond() != 0 {
				t.Errorf("refresh time %v is not truncated to the second", p.At)
			}
		})
	}
}

func TestJitterIsStableAndSpread(t *testing.T) {
	if jitterFor("uid-1") != jitterFor("uid-1") {
		t.Fatal("jitter changes between calls for the same connection")
	}
	seen := map[float64]bool{}
	for i := range 100 {
		j := jitterFor(string(rune('a'+i%26)) + time.Duration(i).String())
		if j < 0 || j >= 1 {
			t.Fatalf("jitter %v outside [0,1)", j)
		}
		seen[j] = true
	}
	if len(seen) < 90 {
		t.Errorf("only %d distinct jitters for 100 connections", len(seen))
	}
}

func TestRetryDelay(t *testing.T) {
	cases := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		remaining  time.Duration
		want       time.Duration
	}{
		{"the first retry comes after 5 seconds", 0, 0, time.Hour, 5 * time.Second},
		{"retries back off exponentially", 3, 0, time.Hour, 40 * time.Second},
		{"backoff is capped at 5 minutes", 12, 0, 10 * time.Hour, 5 * time.Minute},
		{"backoff is capped at a quarter of the remaining validity", 8, 0, 8 * time.Minute, 2 * time.Minute},
		{"the cap never drops below 30 seconds", 8, 0, time.Minute, 30 * time.Second},
		{"Retry-After wins over a shorter backoff", 0, 7 * time.Second, time.Hour, 7 * time.Second},
		{"without a token the cap is 5 minutes", 20, 0, 0, 5 * time.Minute},
		{"Retry-After is capped at a third of the remaining validity", 0, 2 * time.Hour, 30 * time.Minute, 10 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := retryDelay(c.attempt, c.retryAfter, c.remaining, 0); got != c.want {
				t.Errorf("retryDelay = %v, want %v", got, c.want)
			}
		})
	}
}

func TestRetriesAndChecksAreJittered(t *testing.T) {
	if a, b := retryDelay(3, 0, time.Hour, 0), retryDelay(3, 0, time.Hour, 0.99); b <= a || b > a+a/maxJitterShare {
		t.Errorf("jittered backoff %v, unjittered %v: want later by up to a fifth", b, a)
	}
	if a, b := jitteredInterval(5*time.Minute, 0), jitteredInterval(5*time.Minute, 0.99); a != 5*time.Minute || b >= a || b < a-a/10 {
		t.Errorf("health interval %v and %v, want the interval and up to a tenth earlier", a, b)
	}
}

func TestTerminalFailuresAreRetriedBeforeTheHeldTokenExpires(t *testing.T) {
	for _, c := range []struct {
		name      string
		remaining time.Duration
		jitter    float64
		want      time.Duration
	}{
		{"half the remaining validity", 40 * time.Minute, 0, 20 * time.Minute},
		{"at most an hour", 10 * time.Hour, 0, time.Hour},
		{"earlier by up to a fifth with jitter", 40 * time.Minute, 0.5, 18 * time.Minute},
		{"no valid token: wait for a change", 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := terminalRetryDelay(c.remaining, c.jitter); got != c.want {
				t.Errorf("terminalRetryDelay = %v, want %v", got, c.want)
			}
		})
	}
}
