package controller

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365-operator/d365-operator/internal/dataverse"
)

// countingEnvironment answers WhoAmI with the user the token names, after a pause, and
// counts the calls.
type countingEnvironment struct {
	calls atomic.Int32
	pause time.Duration
	fail  error
}

func (e *countingEnvironment) Discover(context.Context, string) (dataverse.Authority, error) {
	return dataverse.Authority{}, errors.New("not used")
}

func (e *countingEnvironment) WhoAmI(_ context.Context, _, accessToken string) (dataverse.Identity, error) {
	e.calls.Add(1)
	time.Sleep(e.pause)
	if e.fail != nil {
		return dataverse.Identity{}, e.fail
	}
	return dataverse.Identity{UserID: "user-of-" + accessToken}, nil
}

func (e *countingEnvironment) RetrieveUserPrivileges(context.Context, string, string, string) (dataverse.UserPrivileges, error) {
	return dataverse.UserPrivileges{}, errors.New("not used")
}

func (e *countingEnvironment) RetrieveVersion(context.Context, string, string) (dataverse.Version, error) {
	return dataverse.Version{}, errors.New("not used")
}

func (e *countingEnvironment) RetrieveCurrentOrganization(context.Context, string, string) (dataverse.Organization, error) {
	return dataverse.Organization{}, errors.New("not used")
}

func TestWhoAmIIsSharedPerTokenAndEnvironmentOnly(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	env := &countingEnvironment{pause: 50 * time.Millisecond}
	w := newWhoAmIs()

	// Twenty connections holding one token ask at once: one call, one answer for all.
	var wg sync.WaitGroup
	answers := make([]dataverse.Identity, 20)
	for i := range answers {
		wg.Go(func() {
			who, err := w.check(ctx, env, "https://a.crm.dynamics.com/", "token-1", now)
			if err != nil {
				t.Error(err)
			}
			answers[i] = who
		})
	}
	wg.Wait()
	if n := env.calls.Load(); n != 1 {
		t.Errorf("%d WhoAmI calls for 20 connections holding one token, want 1", n)
	}
	for _, who := range answers {
		if who.UserID != "user-of-token-1" {
			t.Fatalf("answer %+v, want the token's own user", who)
		}
	}

	// Another token, or the same token for another environment, is asked for itself.
	if who, _ := w.check(ctx, env, "https://a.crm.dynamics.com/", "token-2", now); who.UserID != "user-of-token-2" {
		t.Errorf("another token was told %+v", who)
	}
	_, _ = w.check(ctx, env, "https://b.crm.dynamics.com/", "token-1", now)
	if n := env.calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3: one per (token, environment)", n)
	}

	// Within the window the answer stands; after it, the token is asked again.
	_, _ = w.check(ctx, env, "https://a.crm.dynamics.com/", "token-1", now.Add(whoAmIShareWindow-time.Second))
	if n := env.calls.Load(); n != 3 {
		t.Errorf("%d calls, want the answer reused within the window", n)
	}
	_, _ = w.check(ctx, env, "https://a.crm.dynamics.com/", "token-1", now.Add(whoAmIShareWindow))
	if n := env.calls.Load(); n != 4 {
		t.Errorf("%d calls, want a new call once the answer is a window old", n)
	}
	// A reconcile that started a second before the one that asked (its clock reads earlier)
	// takes the newer answer too: two reconciles a second apart ask once.
	_, _ = w.check(ctx, env, "https://a.crm.dynamics.com/", "token-1", now.Add(whoAmIShareWindow-time.Second))
	if n := env.calls.Load(); n != 4 {
		t.Errorf("%d calls, want the answer asked a second later reused", n)
	}
	// Old answers are dropped, so the map holds only recent tokens.
	if n := w.recent.Len(); n != 1 {
		t.Errorf("%d answers kept, want only the one from the last window", n)
	}
}

func TestWhoAmIFailureIsSharedToo(t *testing.T) {
	env := &countingEnvironment{fail: &dataverse.Error{Op: dataverse.OpWhoAmI, Kind: dataverse.ApplicationUserNotFound, Message: "no application user"}}
	w := newWhoAmIs()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for range 3 {
		if _, err := w.check(context.Background(), env, "https://a.crm.dynamics.com/", "token-1", now); err == nil {
			t.Fatal("a failed WhoAmI reported success")
		}
	}
	if n := env.calls.Load(); n != 1 {
		t.Errorf("%d calls, want the failure shared within the window", n)
	}
}
