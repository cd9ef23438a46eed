package entra

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// SignInOptions configures SignIn.
type SignInOptions struct {
	// Authority is "https://<login host>/<tenant>/", as discovered from the environment.
	Authority string
	// ClientID is the app the user signs in to; it must allow public client flows.
	ClientID string
	// Resource is the environment URL the tokens are for.
	Resource string
	// DeviceCode signs in with the device code flow instead of the browser.
	DeviceCode bool
	// ShowDeviceCode receives the device code instructions to show the user.
	ShowDeviceCode func(message string)
	// OpenURL opens the authorization URL (authorization code flow with PKCE); nil opens
	// the system browser.
	OpenURL func(url string) error
	// RedirectPort is the port of the http://localhost redirect; 0 picks a free port.
	RedirectPort int
	// LoginHint pre-fills the user name on the sign-in page.
	LoginHint string
	// HTTPClient carries MSAL's requests; nil means transport.NewHTTPClient with defaults.
	HTTPClient *http.Client
	// Trust decides which authorities and resources may be used; nil means the built-in hosts.
	Trust *trust.Policy
}

// SignInResult is a completed sign-in.
type SignInResult struct {
	// Cache is MSAL's serialized token cache with the user's refresh token (no access
	// token): what auth.delegated.tokenCacheRef's Secret holds. Never log it.
	Cache []byte
	// Username is the signed-in user's name (UPN).
	Username string
	// HomeAccountID is MSAL's id of the account ("<object id>.<tenant id>").
	HomeAccountID string
	// ExpiresOn is when the access token issued with the sign-in expires.
	ExpiresOn time.Time
}

// SignIn signs a user in with MSAL's public client, by the authorization code flow with PKCE
// (a browser and a localhost redirect; MSAL uses response_mode=form_post) or the device code
// flow, and returns the serialized token cache for the operator to keep the sign-in alive.
// Entra ID's refusals are *Error values; an untrusted authority or resource is a *trust.Error.
func SignIn(ctx context.Context, o SignInOptions) (SignInResult, error) {
	policy := o.Trust
	if policy == nil {
		policy = trust.NewPolicy(nil, nil)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = transport.NewHTTPClient(transport.Options{})
	}
	// The same checks as Provider.Acquire: nothing goes to a host the policy does not trust.
	id := Identity{Authority: o.Authority, ClientID: o.ClientID, Credential: signInCredential{}}
	authority, resource, err := checkRequest(policy, id, o.Resource)
	if err != nil {
		return SignInResult{}, err
	}
	tc := &tokenCache{}
	c, err := newPublic(authority, o.ClientID, guardedClient(hc, policy), tc)
	if err != nil {
		return SignInResult{}, invalidCredential("The sign-in cannot start: %v", err)
	}
	scopes := []string{scopeFor(resource)}

	res, err := acquireBySignIn(ctx, c, scopes, o)
	if err != nil {
		return SignInResult{}, signInError(err, id, tenantOf(authority))
	}
	doc := tc.document()
	if _, _, perr := parseCache(doc); perr != nil {
		return SignInResult{}, perr
	}
	return SignInResult{Cache: doc, Username: res.Account.PreferredUsername, HomeAccountID: res.Account.HomeAccountID, ExpiresOn: res.ExpiresOn}, nil
}

// acquireBySignIn runs the user's sign-in: the device code flow, or the interactive one
// (a browser and a redirect to localhost).
func acquireBySignIn(ctx context.Context, c *msalClient, scopes []string, o SignInOptions) (AuthResult, error) {
	if o.DeviceCode {
		dc, err := c.public.AcquireTokenByDeviceCode(ctx, scopes)
		if err != nil {
			return AuthResult{}, err
		}
		if o.ShowDeviceCode != nil {
			o.ShowDeviceCode(dc.Result.Message)
		}
		return dc.AuthenticationResult(ctx)
	}
	opts := []public.AcquireInteractiveOption{}
	if o.OpenURL != nil {
		opts = append(opts, public.WithOpenURL(o.OpenURL))
	}
	if o.RedirectPort > 0 {
		opts = append(opts, public.WithRedirectURI(fmt.Sprintf("http://localhost:%d", o.RedirectPort)))
	}
	if o.LoginHint != "" {
		opts = append(opts, public.WithLoginHint(o.LoginHint))
	}
	return c.public.AcquireTokenInteractive(ctx, scopes, opts...)
}

// signInError classifies a failed sign-in. The device code flow's own outcomes (the user
// declined, the code expired) are answers of the token endpoint, classified like any other.
func signInError(err error, id Identity, tenant string) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{Kind: RequestFailed, cause: err, Message: "The sign-in was not completed in time"}
	}
	e := classify(err, id, tenant, time.Now())
	var ee *Error
	if errors.As(e, &ee) && strings.Contains(ee.ErrorCode, "declined") {
		ee.Message = "The user declined the sign-in."
	}
	return e
}

// signInCredential stands in for the credential Provider.check requires: a sign-in has
// no material of its own.
type signInCredential struct{}

func (signInCredential) kind() string            { return "SignIn" }
func (signInCredential) writeMaterial(hash.Hash) {}
func (signInCredential) secrets() []string       { return nil }
func (signInCredential) newClient(string, string, *http.Client) (*msalClient, error) {
	return nil, errors.New("not used")
}
func (signInCredential) acquire(context.Context, *msalClient, []string) (AuthResult, error) {
	return AuthResult{}, errors.New("not used")
}
