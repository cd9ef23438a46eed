package entra

import (
	"context"
	"net/http"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/d365-operator/d365-operator/internal/environment"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// newConfidential builds a confidential MSAL client with the options every client of the
// provider gets, and the given cache accessor.
func newConfidential(authority, clientID string, cred confidential.Credential, hc *http.Client, c cache.ExportReplace) (*msalClient, error) {
	cc, err := confidential.New(authority, clientID, cred,
		// Our trust policy replaces MSAL's authority validation, and instance discovery would
		// call login.microsoftonline.com for any other host (a local simulator included).
		confidential.WithInstanceDiscovery(false),
		confidential.WithHTTPClient(hc),
		// The provider's map is the token cache; see emptyCache and tokenCache.
		confidential.WithCache(c),
		// MSAL_FORCE_REGION in the environment would send requests to
		// <region>.login.microsoft.com, a host the trust policy never approved.
		confidential.WithAzureRegion("DisableMsalForceRegion"),
	)
	if err != nil {
		return nil, err
	}
	return &msalClient{confidential: cc, clientID: clientID, authorityHost: hostOfAuthority(authority)}, nil
}

// newPublic builds a public MSAL client (no client authentication) with the same options;
// public clients know no regions.
func newPublic(authority, clientID string, hc *http.Client, c cache.ExportReplace) (*msalClient, error) {
	pc, err := public.New(clientID,
		public.WithAuthority(authority),
		public.WithInstanceDiscovery(false),
		public.WithHTTPClient(hc),
		public.WithCache(c),
	)
	if err != nil {
		return nil, err
	}
	return &msalClient{public: pc, isPublic: true, clientID: clientID, authorityHost: hostOfAuthority(authority)}, nil
}

// hostOfAuthority returns the lower-cased host (with port) of an authority URL, or "".
func hostOfAuthority(authority string) string {
	a, err := environment.ParseAuthority(authority)
	if err != nil {
		return ""
	}
	return a.Host()
}

// emptyCache makes MSAL forget everything before each cache read and write: MSAL serves a
// cached token until five minutes before it expires and cannot be told to fetch a new one,
// so with its cache every refresh the operator schedules would return the same old token.
// With this cache each AcquireTokenByCredential makes a request, and MSAL keeps no token.
type emptyCache struct{}

// emptyContract is an MSAL cache document with no entries.
var emptyContract = []byte(`{}`)

// Replace implements cache.ExportReplace by loading an empty cache.
func (emptyCache) Replace(_ context.Context, c cache.Unmarshaler, _ cache.ReplaceHints) error {
	return c.Unmarshal(emptyContract)
}

// Export implements cache.ExportReplace by discarding the cache.
func (emptyCache) Export(context.Context, cache.Marshaler, cache.ExportHints) error {
	return nil
}

// guardedClient returns a copy of hc whose every request, including those to the token
// endpoint that the OpenID configuration advertises (which MSAL does not check), must go
// to a trusted authority host over https. The client secret is in those requests' bodies.
func guardedClient(hc *http.Client, policy *trust.Policy) *http.Client {
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	guarded := *hc
	guarded.Transport = &trustGuard{base: base, policy: policy}
	return &guarded
}

// trustGuard refuses requests to hosts the trust policy does not accept as authorities.
type trustGuard struct {
	base   http.RoundTripper
	policy *trust.Policy
}

// RoundTrip implements http.RoundTripper.
func (g *trustGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.policy.CheckAuthority(req.URL); err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper must close the body, even when refusing
		}
		return nil, err
	}
	return g.base.RoundTrip(req)
}

// CloseIdleConnections passes MSAL's call on to the wrapped transport.
func (g *trustGuard) CloseIdleConnections() {
	if c, ok := g.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
