package entra

import (
	"bytes"
	"context"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// UsernamePassword returns a credential for the OAuth 2.0 resource owner password grant of a
// user through an app. clientSecret may be empty; the app must then allow public client flows.
//
// MSAL's password grant sends no client authentication, not even from a confidential client
// holding a secret (Entra ID then answers AADSTS7000218 for apps that require it). With a
// client secret, the credential therefore adds client_secret (client_secret_post, as MSAL
// sends it with every other grant) to exactly that request; MSAL still builds the rest.
func UsernamePassword(username, password, clientSecret string) Credential {
	return usernamePassword{username: username, password: password, clientSecret: clientSecret}
}

// usernamePassword is the password grant (ROPC).
type usernamePassword struct {
	username, password, clientSecret string
}

func (usernamePassword) kind() string { return "UsernamePassword" }

func (u usernamePassword) writeMaterial(h hash.Hash) {
	writeField(h, u.username)
	writeField(h, u.password)
	writeField(h, u.clientSecret)
}

func (u usernamePassword) newClient(authority, clientID string, hc *http.Client) (*msalClient, error) {
	if u.clientSecret == "" {
		return newPublic(authority, clientID, hc, emptyCache{})
	}
	cred, err := confidential.NewCredFromSecret(u.clientSecret)
	if err != nil {
		return nil, err
	}
	withSecret := *hc
	withSecret.Transport = &passwordGrantSecret{base: transportOf(hc), secret: u.clientSecret}
	return newConfidential(authority, clientID, cred, &withSecret, emptyCache{})
}

func (u usernamePassword) acquire(ctx context.Context, c *msalClient, scopes []string) (AuthResult, error) {
	if c.isPublic {
		//nolint:staticcheck // SA1019: ROPC is deprecated; auth.usernamePassword exists for integrations that still rely on it.
		return c.public.AcquireTokenByUsernamePassword(ctx, scopes, u.username, u.password)
	}
	return c.confidential.AcquireTokenByUsernamePassword(ctx, scopes, u.username, u.password)
}

func (u usernamePassword) secrets() []string { return []string{u.password, u.clientSecret} }

// explain says what each refusal of the password grant means for this user and app.
func (u usernamePassword) explain(e *Error, _ Identity) string {
	switch {
	case e.Kind == InteractionRequired:
		return "Multi-factor authentication or Conditional Access applies to this user, and the password grant cannot satisfy it. " +
			"Use an application identity instead (auth.clientCertificate or auth.workloadIdentity, with the app as an application user), " +
			"or auth.delegated: the user signs in once, with MFA, through `d365-operator login`."
	case e.AADSTS == 7000218 || (e.ErrorCode == oauthInvalidClient && u.clientSecret == ""):
		e.Kind = CredentialRejected
		return "The app requires client authentication for the password grant: set auth.usernamePassword.clientSecretRef, or enable \"Allow public client flows\" on the app registration's Authentication page."
	case e.AADSTS == 50126:
		return "Check the user name and password in the Secrets that auth.usernamePassword references."
	case e.ErrorCode == oauthInvalidGrant && e.Kind == RequestFailed:
		// Unknown user, disabled or locked account, expired password: all need the user's admin.
		e.Kind = CredentialRejected
		return "Entra ID refused the user's sign-in; check the account in the tenant and the user name in the referenced Secret."
	}
	return ""
}

// String keeps the password out of logs and %v output.
func (usernamePassword) String() string { return "UsernamePassword(redacted)" }

// GoString keeps the password out of %#v output.
func (usernamePassword) GoString() string { return "entra.UsernamePassword(redacted)" }

// passwordGrantSecret adds client_secret to password-grant token requests that carry no
// client authentication. Every other request passes unchanged.
type passwordGrantSecret struct {
	base   http.RoundTripper
	secret string
}

// maxFormBytes bounds the token request body read here; MSAL's forms are a few hundred bytes.
const maxFormBytes = 64 << 10

// RoundTrip implements http.RoundTripper without modifying req (it sends a clone).
func (t *passwordGrantSecret) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.Body == nil ||
		!strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return t.base.RoundTrip(req)
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxFormBytes))
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	if form, perr := url.ParseQuery(string(body)); perr == nil && form.Get("grant_type") == "password" &&
		!form.Has("client_secret") && !form.Has("client_assertion") {
		form.Set("client_secret", t.secret)
		body = []byte(form.Encode())
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
	return t.base.RoundTrip(out)
}

// CloseIdleConnections passes MSAL's call on to the wrapped transport.
func (t *passwordGrantSecret) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// transportOf returns hc's transport, or the default one.
func transportOf(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}
