package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/d365-operator/d365-operator/internal/trust"
)

const (
	evilHost     = "login.evil.example"
	leakedToken  = "eyJ.access-token-that-must-not-reach-an-error"
	testTenant   = "7e1c0000-0000-0000-0000-000000000001"
	testClientID = "11111111-2222-3333-4444-555555555555"
	testResource = "https://contoso.crm.dynamics.com/"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func testIdentity() Identity {
	return Identity{Authority: "https://login.microsoftonline.com/" + testTenant + "/", ClientID: testClientID, Credential: ClientSecret(testSecret)}
}

func newTestProvider(f *fakeAuthority, clk *clocktesting.FakeClock) *Provider {
	return NewProvider(ProviderOptions{HTTPClient: f.Client(), Clock: clk, Trust: trust.NewPolicy(nil, nil)})
}

func TestAcquireMakesOneMSALRequestAndStampsTheInjectedClock(t *testing.T) {
	f := newFakeAuthority(t)
	clk := clocktesting.NewFakeClock(t0)
	p := newTestProvider(f, clk)

	tok, err := p.Acquire(context.Background(), testIdentity(), testResource, nil)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if tok.AccessToken != "access-token-1" || !tok.IssuedAt.Equal(t0) || tok.Lifetime() != 3599*time.Second {
		t.Errorf("got %v with lifetime %v, want access-token-1 issued at %v for 3599s", tok, tok.Lifetime(), t0)
	}

	reqs := f.all()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want the OpenID configuration GET and one token POST", len(reqs))
	}
	if reqs[0].Method != http.MethodGet || reqs[0].Path != "/"+testTenant+"/v2.0/.well-known/openid-configuration" {
		t.Errorf("first request %s %s", reqs[0].Method, reqs[0].Path)
	}
	post := reqs[1]
	if post.Method != http.MethodPost || post.Host != "login.microsoftonline.com" || post.Path != "/"+testTenant+"/oauth2/v2.0/token" {
		t.Errorf("token request %s %s%s", post.Method, post.Host, post.Path)
	}
	form := map[string]string{}
	for k, v := range post.Form {
		form[k] = strings.Join(v, ",")
	}
	if form["grant_type"] != "client_credentials" || form["client_id"] != testClientID || form["client_secret"] != testSecret {
		t.Errorf("token form grant_type=%q client_id=%q, secret sent=%v", form["grant_type"], form["client_id"], form["client_secret"] == testSecret)
	}
	if scopes := strings.Fields(form["scope"]); len(scopes) == 0 || scopes[0] != "https://contoso.crm.dynamics.com/.default" {
		t.Errorf("scope %q, want https://contoso.crm.dynamics.com/.default first", form["scope"])
	}
	if post.Header.Get("x-client-sku") != "MSAL.Go" {
		t.Errorf("x-client-sku %q: the request was not made by MSAL Go", post.Header.Get("x-client-sku"))
	}
}

func TestAcquireReusesOnlyWhatAcceptTakes(t *testing.T) {
	f := newFakeAuthority(t)
	clk := clocktesting.NewFakeClock(t0)
	p := newTestProvider(f, clk)
	ctx := context.Background()
	first, err := p.Acquire(ctx, testIdentity(), testResource, nil)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}

	tests := []struct {
		name      string
		advance   time.Duration
		accept    func(Token) bool
		wantToken string
		wantPosts int
	}{
		{"accept true returns the held token without a request", 0, func(Token) bool { return true }, first.AccessToken, 1},
		{"a nil accept takes an unexpired token", 30 * time.Minute, nil, first.AccessToken, 1},
		// MSAL alone would serve its cached token here (more than 5 minutes left): the
		// operator's refresh policy must win.
		{"accept false forces a new request although MSAL would still cache", 0, func(Token) bool { return false }, "access-token-2", 2},
		// One hour on, access-token-2 (59m59s) has expired but is not yet idle long enough to be pruned.
		{"a nil accept refuses an expired token", time.Hour, nil, "access-token-3", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk.Step(tc.advance)
			tok, err := p.Acquire(ctx, testIdentity(), testResource, tc.accept)
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			if tok.AccessToken != tc.wantToken {
				t.Errorf("got %s, want %s", tok.AccessToken, tc.wantToken)
			}
			if n := f.count(http.MethodPost, "/token"); n != tc.wantPosts {
				t.Errorf("%d token requests, want %d", n, tc.wantPosts)
			}
		})
	}
	if n := f.count(http.MethodGet, "openid-configuration"); n != 1 {
		t.Errorf("%d OpenID configuration requests, want 1 (one MSAL client per identity)", n)
	}
}

func TestConcurrentAcquiresShareOneRequest(t *testing.T) {
	f := newFakeAuthority(t)
	gate := make(chan struct{})
	f.set(func(f *fakeAuthority) { f.gate = gate })
	p := newTestProvider(f, clocktesting.NewFakeClock(t0))

	const callers = 50
	var wg sync.WaitGroup
	results := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			tok, err := p.Acquire(context.Background(), testIdentity(), testResource, func(Token) bool { return true })
			results[i], errs[i] = tok.AccessToken, err
		})
	}
	// Hold the answer until the first token request is in flight, then let it through.
	waitFor(t, func() bool { return f.count(http.MethodPost, "/token") == 1 })
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()

	for i := range callers {
		if errs[i] != nil || results[i] != "access-token-1" {
			t.Fatalf("caller %d got %q, %v; want access-token-1", i, results[i], errs[i])
		}
	}
	if n := f.count(http.MethodPost, "/token"); n != 1 {
		t.Errorf("%d token requests for %d concurrent callers, want 1", n, callers)
	}
}

func TestACallerGivingUpDoesNotFailTheOthers(t *testing.T) {
	f := newFakeAuthority(t)
	gate := make(chan struct{})
	f.set(func(f *fakeAuthority) { f.gate = gate })
	p := newTestProvider(f, clocktesting.NewFakeClock(t0))

	impatient, cancel := context.WithCancel(context.Background())
	impatientErr := make(chan error, 1)
	go func() {
		_, err := p.Acquire(impatient, testIdentity(), testResource, nil)
		impatientErr <- err
	}()
	waitFor(t, func() bool { return f.count(http.MethodPost, "/token") == 1 })
	patient := make(chan error, 1)
	go func() {
		_, err := p.Acquire(context.Background(), testIdentity(), testResource, nil)
		patient <- err
	}()
	cancel()
	if err := <-impatientErr; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled caller got %v, want context.Canceled", err)
	}
	close(gate)
	if err := <-patient; err != nil {
		t.Errorf("the patient caller failed: %v", err)
	}
}

func TestTrustRefusalsMakeNoRequest(t *testing.T) {
	tests := []struct {
		name      string
		authority string
		resource  string
		wantKind  trust.Kind
	}{
		{"a foreign authority", "https://login.evil.example/" + testTenant + "/", testResource, trust.KindAuthority},
		{"a look-alike authority", "https://login.microsoftonline.com.evil.example/" + testTenant + "/", testResource, trust.KindAuthority},
		{"an http authority", "http://login.microsoftonline.com/" + testTenant + "/", testResource, trust.KindAuthority},
		{"a malformed authority on a foreign host", "https://login.evil.example", testResource, trust.KindAuthority},
		{"a foreign resource", "https://login.microsoftonline.com/" + testTenant + "/", "https://evil.example/", trust.KindEnvironment},
		{"an http resource", "https://login.microsoftonline.com/" + testTenant + "/", "http://contoso.crm.dynamics.com/", trust.KindEnvironment},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAuthority(t, "login.microsoftonline.com", evilHost, "login.microsoftonline.com.evil.example")
			p := newTestProvider(f, clocktesting.NewFakeClock(t0))
			id := testIdentity()
			id.Authority = tc.authority
			_, err := p.Acquire(context.Background(), id, tc.resource, nil)
			var te *trust.Error
			if !errors.As(err, &te) || te.Kind != tc.wantKind {
				t.Fatalf("got %v, want a *trust.Error of kind %s", err, tc.wantKind)
			}
			if n := len(f.all()); n != 0 {
				t.Errorf("%d requests reached a server, want none", n)
			}
			if ids, _ := p.size(); ids != 0 {
				t.Errorf("an MSAL client was built for a refused identity")
			}
		})
	}
}

func TestATokenEndpointOnAForeignHostNeverGetsTheSecret(t *testing.T) {
	f := newFakeAuthority(t)
	f.set(func(f *fakeAuthority) { f.tokenEndpointHost = evilHost })
	p := newTestProvider(f, clocktesting.NewFakeClock(t0))

	_, err := p.Acquire(context.Background(), testIdentity(), testResource, nil)
	var te *trust.Error
	if !errors.As(err, &te) || te.Host != evilHost {
		t.Fatalf("got %v, want a trust refusal of login.evil.example", err)
	}
	for _, r := range f.all() {
		if r.Host == evilHost || r.Method == http.MethodPost {
			t.Errorf("a request reached %s %s%s", r.Method, r.Host, r.Path)
		}
	}
}

func TestEntraRefusalsAreClassified(t *testing.T) {
	tests := []struct {
		name      string
		onConfig  func(http.ResponseWriter, *http.Request) bool
		onToken   func(http.ResponseWriter, *http.Request) bool
		wantKind  Kind
		wantRetry time.Duration
		wantPosts int
	}{
		{"a wrong secret", nil, aadReply(401, aad("invalid_client", 7000215, "Invalid client secret provided.")), InvalidClientSecret, 0, 1},
		{"an unknown tenant from the OpenID configuration", aadReply(400, aad("invalid_tenant", 90002, "Tenant 'x' not found.")), nil, TenantNotFound, 0, 0},
		{"throttling is not retried by MSAL and keeps Retry-After", nil, aadReply(429, "Too Many Requests", "Retry-After", "60"), Throttled, time.Minute, 1},
		{"an outage", nil, aadReply(503, ""), Unavailable, 0, 1},
		// MSAL's decode error carries the raw answer, access token included.
		{"a token answer MSAL cannot read", nil, aadReply(200, `{"token_type":"Bearer","access_token":"`+leakedToken+`"}`),
			RequestFailed, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAuthority(t)
			f.set(func(f *fakeAuthority) { f.onConfig, f.onToken = tc.onConfig, tc.onToken })
			p := newTestProvider(f, clocktesting.NewFakeClock(t0))
			_, err := p.Acquire(context.Background(), testIdentity(), testResource, nil)
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.wantKind || e.RetryAfter != tc.wantRetry {
				t.Fatalf("got %v, want %s with Retry-After %v", err, tc.wantKind, tc.wantRetry)
			}
			for _, s := range []string{testSecret, leakedToken} {
				if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), s) {
					t.Fatal("the error contains a secret or token")
				}
			}
			if n := f.count(http.MethodPost, "/token"); n != tc.wantPosts {
				t.Errorf("%d token requests, want %d", n, tc.wantPosts)
			}
		})
	}
}

func TestAnUnreachableAuthorityIsAnOutage(t *testing.T) {
	f := newFakeAuthority(t)
	p := newTestProvider(f, clocktesting.NewFakeClock(t0))
	f.Close()
	_, err := p.Acquire(context.Background(), testIdentity(), testResource, nil)
	var e *Error
	if !errors.As(err, &e) || e.Kind != Unavailable {
		t.Fatalf("got %v, want Unavailable", err)
	}
	if !strings.Contains(e.Message, "login.microsoftonline.com") {
		t.Errorf("message %q does not name the host", e.Message)
	}
}

// callerError stands in for a caller's own error type, e.g. the controller's step error.
type callerError struct{ what string }

func (e *callerError) Error() string { return e.what }

func TestAssertionSourceErrorsStayReachable(t *testing.T) {
	tests := []struct {
		name     string
		mintErr  error
		wantKind Kind
	}{
		{"the caller's own error type is wrapped, not replaced", &callerError{"the ServiceAccount does not exist"}, RequestFailed},
		{"a cancelled source is an outage", context.Canceled, Unavailable},
		{"an *Error passes unchanged", &Error{Kind: InvalidCredential, Message: "no issuer"}, InvalidCredential},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAuthority(t)
			p := newTestProvider(f, clocktesting.NewFakeClock(t0))
			id := testIdentity()
			id.Credential = WorkloadIdentity("system:serviceaccount:a:d365", func(context.Context) (string, error) { return "", tc.mintErr })
			_, err := p.Acquire(context.Background(), id, testResource, nil)
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.wantKind {
				t.Fatalf("got %v, want %s", err, tc.wantKind)
			}
			if !errors.Is(err, tc.mintErr) {
				t.Errorf("%v does not unwrap to the source's error", err)
			}
			if n := f.count(http.MethodPost, "/token"); n != 0 {
				t.Errorf("%d token requests without an assertion", n)
			}
		})
	}
}

func TestForgetDropsTheClientAndItsTokens(t *testing.T) {
	f := newFakeAuthority(t)
	p := newTestProvider(f, clocktesting.NewFakeClock(t0))
	ctx := context.Background()
	if _, err := p.Acquire(ctx, testIdentity(), testResource, nil); err != nil {
		t.Fatal(err)
	}
	p.Forget(testIdentity())
	if clients, tokens := p.size(); clients != 0 || tokens != 0 {
		t.Errorf("%d clients and %d tokens after Forget, want none", clients, tokens)
	}
}

func TestUnusedEntriesArePruned(t *testing.T) {
	f := newFakeAuthority(t)
	clk := clocktesting.NewFakeClock(t0)
	p := newTestProvider(f, clk)
	ctx := context.Background()
	other := testIdentity()
	other.ClientID = "99999999-2222-3333-4444-555555555555"
	for _, id := range []Identity{testIdentity(), other} {
		if _, err := p.Acquire(ctx, id, testResource, nil); err != nil {
			t.Fatal(err)
		}
	}
	// One identity stays in use; the other's token expires and is left alone for hours.
	for range 4 {
		clk.Step(time.Hour)
		if _, err := p.Acquire(ctx, testIdentity(), testResource, nil); err != nil {
			t.Fatal(err)
		}
	}
	if ids, toks := p.size(); ids != 1 || toks != 1 {
		t.Errorf("%d identities and %d tokens held, want 1 and 1", ids, toks)
	}
}

func TestInvalidIdentitiesAreRefusedWithoutARequest(t *testing.T) {
	tests := []struct {
		name     string
		change   func(*Identity)
		resource string
		wantKind Kind
	}{
		{"no credential", func(i *Identity) { i.Credential = nil }, testResource, InvalidCredential},
		{"no client id", func(i *Identity) { i.ClientID = " " }, testResource, InvalidCredential},
		{"an empty secret", func(i *Identity) { i.Credential = ClientSecret("") }, testResource, InvalidCredential},
		{"an authority without tenant", func(i *Identity) { i.Authority = "https://login.microsoftonline.com/" }, testResource, TenantNotFound},
		{"a relative resource", func(*Identity) {}, "contoso", InvalidScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAuthority(t)
			p := newTestProvider(f, clocktesting.NewFakeClock(t0))
			id := testIdentity()
			tc.change(&id)
			_, err := p.Acquire(context.Background(), id, tc.resource, nil)
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.wantKind {
				t.Fatalf("got %v, want %s", err, tc.wantKind)
			}
			if n := len(f.all()); n != 0 {
				t.Errorf("%d requests made", n)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSpellingsOfOneResourceShareAToken(t *testing.T) {
	f := newFakeAuthority(t)
	p := newTestProvider(f, clocktesting.NewFakeClock(t0))
	for _, res := range []string{testResource, "https://Contoso.CRM.dynamics.com", " https://contoso.crm.dynamics.com/ "} {
		if _, err := p.Acquire(context.Background(), testIdentity(), res, nil); err != nil {
			t.Fatalf("Acquire(%q): %v", res, err)
		}
	}
	if n := f.count(http.MethodPost, "/token"); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestAcceptMayCallBackIntoTheProvider(t *testing.T) {
	f := newFakeAuthority(t)
	p := newTestProvider(f, clocktesting.NewFakeClock(t0))
	ctx := context.Background()
	if _, err := p.Acquire(ctx, testIdentity(), testResource, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Acquire(ctx, testIdentity(), testResource, func(Token) bool {
			_, err := p.Acquire(ctx, testIdentity(), testResource, nil)
			return err == nil
		})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Acquire deadlocked when accept called back into the provider")
	}
}
