package entra

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/d365-operator/d365-operator/internal/environment"
	"github.com/d365-operator/d365-operator/internal/sharedcall"
	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// Entries unused for idleTTL (tokens: and expired) are dropped, checked every pruneEvery;
// this bounds memory when connections come and go, and drops the secret with the client.
const (
	idleTTL    = time.Hour
	pruneEvery = 5 * time.Minute
)

// requestTimeout bounds one shared token request, which runs detached from the callers
// waiting for it; MSAL's requests are each bounded by the HTTP client's timeout too.
const requestTimeout = 2 * time.Minute

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

	// tokens holds the last token per (identity, resource) and shares the request for it.
	// The MSAL clients stay in ids: building one is no shared call (it makes no request),
	// and an identity is kept while any of its tokens is, which is not a per-key expiry.
	tokens *sharedcall.Cache[tokenKey, Token]

	mu        sync.Mutex
	ids       map[string]*identityState // by Identity.Key()
	lastPrune time.Time
}

// identityState is one identity's MSAL client.
type identityState struct {
	client   *msalClient
	lastUsed time.Time
}

// tokenKey is an identity's Key and a canonical resource.
type tokenKey struct {
	identity, resource string
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
	// A token is dropped once expired and unused for idleTTL.
	tokens := sharedcall.New[tokenKey](sharedcall.Options[Token]{
		Timeout: requestTimeout, Idle: idleTTL, Expires: func(t Token) time.Time { return t.ExpiresOn }, Clock: clk,
	})
	return &Provider{
		http:   guardedClient(hc, policy),
		clock:  clk,
		trust:  policy,
		tokens: tokens,
		ids:    map[string]*identityState{},
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
	p.prune()

	// The request runs detached from this caller's context: other callers share it, and
	// one caller giving up must not fail theirs.
	tok, err := p.tokens.Get(ctx, tokenKey{identity: key, resource: resource}, p.reuse(accept),
		func(ctx context.Context) (Token, error) { return p.fetch(ctx, key, authority, id, resource) })
	if err != nil {
		return Token{}, err
	}
	p.touch(key)
	return tok, nil
}

// Forget drops the identity's MSAL client and tokens, and with them its credential: the
// controller calls it when Entra ID rejected the credential, so that rejected material does
// not stay in memory until the client is pruned.
func (p *Provider) Forget(id Identity) {
	key := id.Key()
	p.mu.Lock()
	delete(p.ids, key)
	p.mu.Unlock()
	p.tokens.ForgetIf(func(k tokenKey) bool { return k.identity == key })
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

// reuse says whether a held token may be returned: accept decides, else any unexpired one.
// accept is the caller's code: the cache runs it without a lock.
func (p *Provider) reuse(accept func(Token) bool) func(Token) bool {
	if accept != nil {
		return accept
	}
	return func(tok Token) bool { return p.clock.Now().Before(tok.ExpiresOn) }
}

// touch marks the identity's client as used, so it is not pruned while its tokens are.
func (p *Provider) touch(key string) {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.ids[key]; st != nil {
		st.lastUsed = now
	}
}

// fetch makes one token request; p.tokens keeps its token.
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
	return Token{AccessToken: res.AccessToken, IssuedAt: now, ExpiresOn: now.Add(lifetime)}, nil
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
	p.ids[key] = &identityState{client: c, lastUsed: now}
	return c, nil
}

// prune drops, every pruneEvery, the identities with no tokens left (p.tokens drops those
// expired and unused for idleTTL) that were not used for idleTTL.
func (p *Provider) prune() {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.lastPrune) < pruneEvery {
		return
	}
	p.lastPrune = now
	held := map[string]bool{}
	for _, k := range p.tokens.Keys() {
		held[k.identity] = true
	}
	for key, st := range p.ids {
		if !held[key] && now.Sub(st.lastUsed) > idleTTL {
			delete(p.ids, key)
		}
	}
}

// tenantOf returns the tenant of a canonical authority "https://host/tenant/".
func tenantOf(authority string) string {
	a, _ := environment.ParseAuthority(authority)
	return a.Tenant()
}
