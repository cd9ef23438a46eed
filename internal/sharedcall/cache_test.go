package sharedcall

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// counter is a call that counts itself and answers its count, after gate (if any) opens.
type counter struct {
	calls atomic.Int32
	gate  chan struct{}
	err   error
}

func (c *counter) call(ctx context.Context) (int, error) {
	n := int(c.calls.Add(1))
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return n, c.err
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConcurrentCallersShareOneCall(t *testing.T) {
	c := New[string, int](Options[int]{})
	f := &counter{gate: make(chan struct{})}
	const callers = 50
	got := make([]int, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = c.Get(context.Background(), "k", nil, f.call) })
	}
	waitFor(t, func() bool { return f.calls.Load() == 1 })
	time.Sleep(20 * time.Millisecond) // let the others join the call in flight
	close(f.gate)
	wg.Wait()
	for i := range callers {
		if got[i] != 1 || errs[i] != nil {
			t.Fatalf("caller %d got %d, %v; want 1", i, got[i], errs[i])
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d calls for %d concurrent callers, want 1", n, callers)
	}
	if v, _ := c.Get(context.Background(), "other", nil, f.call); v != 2 {
		t.Errorf("another key got %d, want its own call", v)
	}
}

func TestTheFirstCallerGivingUpDoesNotFailTheOthers(t *testing.T) {
	type key struct{}
	c := New[string, int](Options[int]{Timeout: time.Minute})
	gate := make(chan struct{})
	var callErr error
	var hadDeadline bool
	var value any
	call := func(ctx context.Context) (int, error) {
		value = ctx.Value(key{})
		_, hadDeadline = ctx.Deadline()
		<-gate
		callErr = ctx.Err()
		return 7, callErr
	}

	first, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "first"))
	firstErr := make(chan error, 1)
	go func() {
		_, err := c.Get(first, "k", nil, call)
		firstErr <- err
	}()
	waitFor(t, func() bool { return c.Len() == 1 })
	second := make(chan int, 1)
	go func() {
		v, _ := c.Get(context.Background(), "k", nil, func(context.Context) (int, error) { return 0, errors.New("not shared") })
		second <- v
	}()
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled caller got %v, want context.Canceled at once", err)
	}
	close(gate)
	if v := <-second; v != 7 {
		t.Errorf("the other caller got %d, want the shared answer 7", v)
	}
	if callErr != nil || !hadDeadline || value != "first" {
		t.Errorf("the call's context: err %v, deadline %v, value %v; want live, bounded, with the first caller's values", callErr, hadDeadline, value)
	}
}

func TestACallRunsAtMostTimeout(t *testing.T) {
	c := New[string, int](Options[int]{Timeout: 20 * time.Millisecond})
	f := &counter{gate: make(chan struct{})}
	if _, err := c.Get(context.Background(), "k", nil, f.call); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the call cut at its timeout", err)
	}
}

func TestAnswersStandForTTLOnTheInjectedClock(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	c := New[string, int](Options[int]{TTL: time.Minute, Clock: clk})
	f := &counter{}
	ctx := context.Background()
	_, _ = c.Get(ctx, "k", nil, f.call)
	_, _ = c.Get(ctx, "other", nil, f.call)

	clk.Step(time.Minute - time.Nanosecond)
	if v, _ := c.Get(ctx, "k", nil, f.call); v != 1 {
		t.Errorf("within the TTL got %d, want the held answer 1", v)
	}
	clk.Step(time.Nanosecond)
	if v, _ := c.Get(ctx, "k", nil, f.call); v != 3 {
		t.Errorf("after the TTL got %d, want a new call's answer 3", v)
	}
	if n := c.Len(); n != 1 {
		t.Errorf("%d answers held, want the expired one of \"other\" dropped", n)
	}
}

func TestIdleAnswersAreDroppedOnceExpired(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	// An answer n ends at t0 + n hours.
	expires := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	c := New[string, int](Options[int]{Idle: time.Hour, Expires: expires, Clock: clk})
	ctx := context.Background()
	used, unused := &counter{}, &counter{}
	_, _ = c.Get(ctx, "used", nil, used.call)
	unused.calls.Store(2) // its answer lives until t0+3h
	_, _ = c.Get(ctx, "unused", nil, unused.call)

	for range 4 {
		clk.Step(time.Hour)
		if v, _ := c.Get(ctx, "used", nil, used.call); v != 1 {
			t.Fatalf("an answer in use got %d, want it kept", v)
		}
		if keys := c.Keys(); clk.Now().Before(t0.Add(4*time.Hour)) != (len(keys) == 2) {
			t.Fatalf("at %v: held %v; want \"unused\" kept until it is idle and expired", clk.Now().Sub(t0), keys)
		}
	}
	if n := used.calls.Load(); n != 1 {
		t.Errorf("%d calls for the answer in use, want 1", n)
	}
}

func TestErrorsAreKeptOnlyWhenAsked(t *testing.T) {
	boom := errors.New("boom")
	for _, keep := range []bool{false, true} {
		c := New[string, int](Options[int]{TTL: time.Minute, CacheErrors: keep, Clock: clocktesting.NewFakeClock(t0)})
		f := &counter{err: boom}
		for range 3 {
			if _, err := c.Get(context.Background(), "k", nil, f.call); !errors.Is(err, boom) {
				t.Fatalf("CacheErrors %v: got %v, want boom", keep, err)
			}
		}
		want := int32(3)
		if keep {
			want = 1
		}
		if n := f.calls.Load(); n != want {
			t.Errorf("CacheErrors %v: %d calls for 3 callers, want %d", keep, n, want)
		}
	}
}

func TestForget(t *testing.T) {
	c := New[string, int](Options[int]{})
	f := &counter{}
	ctx := context.Background()
	for _, k := range []string{"a1", "a2", "b"} {
		_, _ = c.Get(ctx, k, nil, f.call)
	}
	c.Forget("b")
	if v, _ := c.Get(ctx, "b", nil, f.call); v != 4 {
		t.Errorf("after Forget got %d, want a new call's answer 4", v)
	}
	c.ForgetIf(func(k string) bool { return k[0] == 'a' })
	if keys := c.Keys(); len(keys) != 1 || keys[0] != "b" {
		t.Errorf("after ForgetIf held %v, want [b]", keys)
	}
	if v, _ := c.Get(ctx, "b", nil, f.call); v != 4 {
		t.Errorf("an answer not forgotten got %d, want 4", v)
	}
}

func TestFreshDecidesReuseNotTheNewAnswer(t *testing.T) {
	c := New[string, int](Options[int]{})
	f := &counter{}
	ctx := context.Background()
	refuseAll := func(int) bool { return false }
	_, _ = c.Get(ctx, "k", nil, f.call)
	if v, _ := c.Get(ctx, "k", refuseAll, f.call); v != 2 {
		t.Errorf("got %d, want a new call's answer 2 although fresh refuses it too", v)
	}
	if v, _ := c.Get(ctx, "k", func(v int) bool { return v == 2 }, f.call); v != 2 || f.calls.Load() != 2 {
		t.Errorf("got %d after %d calls, want the accepted answer 2 without a call", v, f.calls.Load())
	}
}

func TestFreshMayCallTheCache(t *testing.T) {
	c := New[string, int](Options[int]{})
	f := &counter{}
	ctx := context.Background()
	_, _ = c.Get(ctx, "k", nil, f.call)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Get(ctx, "k", func(int) bool { c.Forget("other"); return c.Len() > 0 }, f.call)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Get deadlocked when fresh called the cache")
	}
}
