package entra

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/utils/clock"

	"github.com/d365-operator/d365-operator/internal/environment"
	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// Entries unused for idleTTL (tokens: and expired) are dropped, checked every pruneEvery;
// this bounds memory when connections come and go, and drops the secret with the client.
const (
	idleTTL    = time.Hour
	pruneEvery = 5 * time.Minute
)

// ProviderOptions configures NewProvider.
type ProviderOptions struct {
	// HTTPClient carries MSAL's requests; nil means transport.NewHTTPClient with defaults.
	HTTPClient *http.Client
	// Clock stamps tokens (IssuedAt, ExpiresOn) and ages cache entries; nil means real time.
	Clock clock.PassiveClock
	// Trust decides which authorities and resources may be used; nil means the built-in hosts.
	Trust *trust.Policy
}

// Provider acquires tokens through MSAL Go, one MSAL client per identity, and keeps the
// last token per (identity, resource). It is safe for concurrent use.
type Provider struct {
	http  *http.Client // wrapped so that every request MSAL makes is checked by trust
	clock clock.PassiveClock
	trust *trust.Policy

	flights singleflight.Group

	mu        sync.Mutex
	ids       map[string]*identityState // by Identity.Key()
	lastPrune time.Time
}

// identityState is one identity's MSAL client and tokens.
type identityState struct {
	client   *msalClient
	tokens   map[string]*cachedToken // by resource
	lastUsed time.Time
}

type cachedToken struct {
	token    Token
	lastUsed time.Time
}

// NewProvider returns a Provider.
func NewProvider(o ProviderOptions) *Provider {
	hc := o.HTTPClient
	if hc == nil {
		hc = transport.NewHTTPClient(transport.Options{})
	}
	clk := o.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	policy := o.Trust
	if policy == nil {
		policy = trust.NewPolicy(nil, nil)
	}
	return &Provider{
		http:  guardedClient(hc, policy),
		clock: clk,
		trust: policy,
		ids:   map[string]*identityState{},
	}
}

// Acquire returns a token for resource (e.g. "https://contoso.crm.dynamics.com/"), requested
// with scope "<resource>/.default".
//
// Before anything else the authority and the resource are checked with the trust policy; a
// refusal is a *trust.Error and nothing leaves the process. If the provider holds a token for
// (identity, resource) and accept returns true for it, that token is returned without a
// request (a nil accept takes any unexpired token). Otherwise one MSAL request is made,
// shared by all concurrent callers for the same identity and resource, and its token is kept
// and returned, even if accept would refuse it (accept decides reuse, not freshness).
// Entra ID's refusals are *Error values.
func (p *Provider) Acquire(ctx context.Context, id Identity, resource string, accept func(Token) bool) (Token, error) {
	authority, resource, err := p.check(id, resource)
	if err != nil {
		return Token{}, err
	}
	key := id.Key()
	if tok, ok := p.cached(key, resource, accept); ok {
		return tok, nil
	}

	// The request runs detached from this caller's context: other callers share it, and
	// one caller giving up must not fail theirs. MSAL and the HTTP client bound its time.
	flightCtx := context.WithoutCancel(ctx)
	ch := p.flights.DoChan(key+"\x00"+resource, func() (any, error) {
		return p.fetch(flightCtx, key, authority, id, resource)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Token{}, r.Err
		}
		return r.Val.(Token), nil
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
}

// Forget drops the identity's MSAL client and tokens, e.g. after Entra ID rejected its credential.
func (p *Provider) Forget(id Identity) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.ids, id.Key())
}

// check validates the identity and resource and applies the trust policy; it returns the
// canonical authority for MSAL and the canonical resource ("https://host/…/", host
// lower-cased, trailing slash), so that spellings of one resource share a token.
func (p *Provider) check(id Identity, resource string) (authority, canonicalResource string, err error) {
	return checkRequest(p.trust, id, resource)
}

// checkRequest is Provider.check for any caller with a trust policy (SignIn too).
func checkRequest(policy *trust.Policy, id Identity, resource string) (authority, canonicalResource string, err error) {
	if id.Credential == nil || strings.TrimSpace(id.ClientID) == "" {
		return "", "", &Error{Kind: InvalidCredential, Message: "The identity needs a client ID and a credential"}
	}
	if u, perr := url.Parse(strings.TrimSpace(id.Authority)); perr == nil {
		// Trust first, even for an authority without a tenant: its host is what matters.
		if terr := policy.CheckAuthority(u); terr != nil {
			return "", "", terr
		}
	}
	auth, err := environment.ParseAuthority(id.Authority)
	if err != nil {
		return "", "", &Error{Kind: TenantNotFound, Message: "The " + err.Error()}
	}
	ru, err := url.Parse(strings.TrimSpace(resource))
	if err != nil || ru.Host == "" {
		return "", "", &Error{Kind: InvalidScope, Message: "The resource " + strings.TrimSpace(resource) + " is not an absolute URL"}
	}
	if terr := policy.CheckEnvironment(ru); terr != nil {
		return "", "", terr
	}
	return auth.String(), environment.CanonicalResource(ru), nil
}

// cached returns the held token for (key, resource) if accept takes it. accept runs
// without the lock: it is the caller's code.
func (p *Provider) cached(key, resource string, accept func(Token) bool) (Token, bool) {
	now := p.clock.Now()
	p.mu.Lock()
	p.pruneLocked(now)
	var tok Token
	st := p.ids[key]
	if st != nil && st.tokens[resource] != nil {
		tok = st.tokens[resource].token
	}
	p.mu.Unlock()
	if tok.AccessToken == "" {
		return Token{}, false
	}

	ok := now.Before(tok.ExpiresOn)
	if accept != nil {
		ok = accept(tok)
	}
	if !ok {
		return Token{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.ids[key]; st != nil {
		st.lastUsed = now
		if ct := st.tokens[resource]; ct != nil {
			ct.lastUsed = now
		}
	}
	return tok, true
}

// fetch makes one token request and keeps its token.
func (p *Provider) fetch(ctx context.Context, key, authority string, id Identity, resource string) (Token, error) {
	client, err := p.client(key, authority, id)
	if err != nil {
		return Token{}, err
	}
	res, err := id.Credential.acquire(ctx, client, []string{scopeFor(resource)})
	received := time.Now()
	if err != nil {
		return Token{}, classify(err, id, tenantOf(authority), p.clock.Now())
	}

	// MSAL stamps ExpiresOn with the real clock at receipt; keep only the lifetime and
	// restamp it on the injected clock, which tests share with the simulator. The lifetime
	// is rounded up to whole seconds: MSAL computed ExpiresOn from whole-second expires_in
	// microseconds before `received`, so rounding up recovers expires_in exactly.
	lifetime := res.ExpiresOn.Sub(received)
	lifetime = max(0, (lifetime + time.Second - 1).Truncate(time.Second))
	// Whole seconds (the receipt time rounded down, so never later than the truth): the
	// times round-trip unchanged through the Secret's RFC 3339 values and the status.
	now := p.clock.Now().Truncate(time.Second)
	tok := Token{AccessToken: res.AccessToken, IssuedAt: now, ExpiresOn: now.Add(lifetime)}

	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.ids[key]
	if st == nil { // forgotten or pruned meanwhile: keep the token, the client is rebuilt
		st = &identityState{client: client, tokens: map[string]*cachedToken{}}
		p.ids[key] = st
	}
	st.tokens[resource] = &cachedToken{token: tok, lastUsed: now}
	st.lastUsed = now
	return tok, nil
}

// client returns the identity's MSAL client, creating it on first use.
func (p *Provider) client(key, authority string, id Identity) (*msalClient, error) {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.ids[key]; st != nil {
		st.lastUsed = now
		return st.client, nil
	}
	c, err := id.Credential.newClient(authority, id.ClientID, p.http)
	if err != nil {
		return nil, &Error{Kind: InvalidCredential, Message: redact("The credential cannot be used: "+err.Error(), id.Credential)}
	}
	p.ids[key] = &identityState{client: c, tokens: map[string]*cachedToken{}, lastUsed: now}
	return c, nil
}

// pruneLocked drops tokens that expired and were not used for idleTTL, then identities with
// no tokens left that were not used for idleTTL. p.mu must be held.
func (p *Provider) pruneLocked(now time.Time) {
	if now.Sub(p.lastPrune) < pruneEvery {
		return
	}
	p.lastPrune = now
	for key, st := range p.ids {
		for res, ct := range st.tokens {
			if now.After(ct.token.ExpiresOn) && now.Sub(ct.lastUsed) > idleTTL {
				delete(st.tokens, res)
			}
		}
		if len(st.tokens) == 0 && now.Sub(st.lastUsed) > idleTTL {
			delete(p.ids, key)
		}
	}
}

// tenantOf returns the tenant of a canonical authority "https://host/tenant/".
func tenantOf(authority string) string {
	a, _ := environment.ParseAuthority(authority)
	return a.Tenant()
}
