// Package entra acquires Entra ID tokens through MSAL Go and explains Entra ID's refusals.
// It never speaks OAuth itself: MSAL builds every request. The package owns the token cache
// (MSAL's would serve a token until five minutes before expiry, with no way to force a new
// one), checks every authority and resource against the trust policy before a credential is
// used, and turns AADSTS errors into actionable *Error values that never carry a secret.
package entra

import (
	"context"
	"hash"
	"net/http"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// Credential is what proves the identity to Entra ID: an application's secret, certificate
// or federated assertion, a user's password, or a user's signed-in token cache. Its methods
// are unexported so that only this package's constructors can make one. A Credential prints
// as its kind only, never its material.
type Credential interface {
	// kind names the credential kind, e.g. "ClientSecret"; it is part of the identity key.
	kind() string
	// writeMaterial feeds the credential's material into the identity key's hash, so that a
	// rotated secret gets a new key (a new MSAL client, no stale cached token).
	writeMaterial(h hash.Hash)
	// newClient builds the MSAL client for this credential; hc is the provider's guarded
	// HTTP client.
	newClient(authority, clientID string, hc *http.Client) (*msalClient, error)
	// acquire makes one token request with c (kinds differ in the MSAL call they need).
	// c was built by a Credential with the same identity key, not necessarily this one:
	// material that may differ between such credentials is passed here, not in newClient.
	acquire(ctx context.Context, c *msalClient, scopes []string) (AuthResult, error)
	// secrets lists strings that must never appear in an error message.
	secrets() []string
}

// AuthResult is MSAL's result; confidential and public clients share the type.
type AuthResult = confidential.AuthResult

// explainer is implemented by credentials whose kind changes what an Entra ID refusal
// means: invalid_grant is a wrong password for the password grant but an expired sign-in
// for a refresh token. explain may change e's Kind and returns advice for the message
// ("" keeps the generic advice).
type explainer interface {
	explain(e *Error, id Identity) string
}

// msalClient is the MSAL application a Credential built, kept by the provider per identity.
// Application credentials use a confidential client; user flows without a client secret
// use a public one. The per-kind fields hold state that must live as long as the client.
type msalClient struct {
	confidential confidential.Client
	public       public.Client
	isPublic     bool
	clientID     string
	// authorityHost is the login host (with port) the client was built for.
	authorityHost string
	// cache is the delegated kind's token cache document.
	cache *tokenCache
	// assertions is the workload identity kind's assertion source.
	assertions *assertionSource
}

// ClientSecret returns a client-credentials credential using an application secret's value.
func ClientSecret(secret string) Credential {
	return clientSecret{secret: secret}
}

// clientSecret is OAuth 2.0 client credentials with client_secret.
type clientSecret struct {
	secret string
}

func (clientSecret) kind() string { return "ClientSecret" }

func (c clientSecret) writeMaterial(h hash.Hash) {
	writeField(h, c.secret)
}

func (c clientSecret) newClient(authority, clientID string, hc *http.Client) (*msalClient, error) {
	cred, err := confidential.NewCredFromSecret(c.secret)
	if err != nil {
		return nil, err
	}
	return newConfidential(authority, clientID, cred, hc, emptyCache{})
}

func (clientSecret) acquire(ctx context.Context, c *msalClient, scopes []string) (AuthResult, error) {
	return c.confidential.AcquireTokenByCredential(ctx, scopes)
}

func (c clientSecret) secrets() []string { return []string{c.secret} }

// String keeps the secret out of logs and %v output.
func (clientSecret) String() string { return "ClientSecret(redacted)" }

// GoString keeps the secret out of %#v output.
func (clientSecret) GoString() string { return "entra.ClientSecret(redacted)" }
