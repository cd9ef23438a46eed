// Package entra acquires Entra ID tokens through MSAL Go and explains Entra ID's refusals.
// It never speaks OAuth itself: MSAL builds every request. The package owns the token cache
// (MSAL's would serve a token until five minutes before expiry, with no way to force a new
// one), checks every authority and resource against the trust policy before a credential is
// used, and turns AADSTS errors into actionable *Error values that never carry a secret.
package entra

import (
	"context"
	"hash"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Credential is what proves the application's identity to Entra ID. Its methods are
// unexported so that only this package's constructors (ClientSecret today; certificates,
// workload identity assertions, passwords and delegated caches later) can make one.
// A Credential prints as its kind only, never its material.
type Credential interface {
	// kind names the credential kind, e.g. "ClientSecret"; it is part of the identity key.
	kind() string
	// writeMaterial feeds the credential's material into the identity key's hash, so that a
	// rotated secret gets a new key (a new MSAL client, no stale cached token).
	writeMaterial(h hash.Hash)
	// newClient builds the MSAL client for this credential with the provider's options.
	newClient(authority, clientID string, opts ...confidential.Option) (confidential.Client, error)
	// acquire makes one token request with c (kinds differ in the MSAL call they need).
	acquire(ctx context.Context, c confidential.Client, scopes []string) (confidential.AuthResult, error)
	// secrets lists strings that must never appear in an error message.
	secrets() []string
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

func (c clientSecret) newClient(authority, clientID string, opts ...confidential.Option) (confidential.Client, error) {
	cred, err := confidential.NewCredFromSecret(c.secret)
	if err != nil {
		return confidential.Client{}, err
	}
	return confidential.New(authority, clientID, cred, opts...)
}

func (clientSecret) acquire(ctx context.Context, c confidential.Client, scopes []string) (confidential.AuthResult, error) {
	return c.AcquireTokenByCredential(ctx, scopes)
}

func (c clientSecret) secrets() []string { return []string{c.secret} }

// String keeps the secret out of logs and %v output.
func (clientSecret) String() string { return "ClientSecret(redacted)" }

// GoString keeps the secret out of %#v output.
func (clientSecret) GoString() string { return "entra.ClientSecret(redacted)" }
