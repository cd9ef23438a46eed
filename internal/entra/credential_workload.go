package entra

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"sync"

	"github.com/d365-operator/d365-operator/internal/printable"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// FederatedAudience is the audience Entra ID expects in a federated client assertion, and
// the default audience of an app registration's federated credential.
const FederatedAudience = "api://AzureADTokenExchange"

// AssertionFunc returns a fresh federated token (e.g. a ServiceAccount token minted through
// the TokenRequest API) for one token request. An *Error it returns reaches the caller of
// Provider.Acquire unchanged; any other error is wrapped in an *Error whose Unwrap returns
// it, so that the caller finds its own error type (e.g. "the ServiceAccount does not
// exist") with errors.As.
type AssertionFunc func(ctx context.Context) (string, error)

// WorkloadIdentity returns a credential that presents the token mint returns as the client
// assertion (workload identity federation): no secret is stored anywhere. subject names the
// workload, e.g. "system:serviceaccount:team-a:d365"; it is the identity key's material,
// since the tokens themselves change with every request.
func WorkloadIdentity(subject string, mint AssertionFunc) Credential {
	return &workloadIdentity{subject: subject, mint: mint}
}

// workloadIdentity is OAuth 2.0 client credentials with a federated client assertion.
type workloadIdentity struct {
	subject string
	mint    AssertionFunc

	mu     sync.Mutex
	last   string // the last assertion sent: redacted from messages
	issuer string // its iss claim, for advice
}

func (*workloadIdentity) kind() string { return "WorkloadIdentity" }

func (w *workloadIdentity) writeMaterial(h hash.Hash) { writeField(h, w.subject) }

// newClient binds MSAL's assertion callback to an assertionSource that lives with the
// client; each acquire points it at the current credential's mint function.
func (w *workloadIdentity) newClient(authority, clientID string, hc *http.Client) (*msalClient, error) {
	src := &assertionSource{}
	c, err := newConfidential(authority, clientID, confidential.NewCredFromAssertionCallback(src.assertion), hc, emptyCache{})
	if err != nil {
		return nil, err
	}
	c.assertions = src
	return c, nil
}

func (w *workloadIdentity) acquire(ctx context.Context, c *msalClient, scopes []string) (AuthResult, error) {
	c.assertions.use(w.mint)
	res, err := c.confidential.AcquireTokenByCredential(ctx, scopes)
	last, issuer := c.assertions.takeLastSent()
	w.mu.Lock()
	// The minted ServiceAccount token is kept only to redact it from this failure's message;
	// after a success nothing needs it.
	w.issuer, w.last = issuer, ""
	if err != nil {
		w.last = last
	}
	w.mu.Unlock()
	return res, err
}

func (w *workloadIdentity) secrets() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return []string{w.last}
}

// explain turns "no federated credential matches" into FederatedCredentialMismatch and
// says exactly which federated credential the app registration needs.
func (w *workloadIdentity) explain(e *Error, id Identity) string {
	switch e.AADSTS {
	case 700211, 700212, 700213, 70021, 700027:
		e.Kind = FederatedCredentialMismatch
		w.mu.Lock()
		issuer := w.issuer
		w.mu.Unlock()
		if issuer == "" {
			issuer = "the cluster's service account issuer URL"
		}
		return fmt.Sprintf("Add a federated credential to the app with %s (Certificates & secrets, Federated credentials) with issuer %s, subject %s and audience %s; the cluster's OIDC discovery document (and its JWKS) must be reachable by Entra ID at that issuer URL.",
			id.clientIDShown(), issuer, w.subject, FederatedAudience)
	}
	return ""
}

// String names the workload, which is not secret.
func (w *workloadIdentity) String() string { return "WorkloadIdentity(" + w.subject + ")" }

// GoString keeps the last assertion out of %#v output.
func (w *workloadIdentity) GoString() string { return "entra." + w.String() }

// assertionSource is MSAL's assertion callback for one client. MSAL calls it for every
// network token request and never caches what it returns, so each request presents a
// freshly minted, short-lived token.
type assertionSource struct {
	mu     sync.Mutex
	mint   AssertionFunc
	last   string
	issuer string
}

// use points the source at the current credential's mint function.
func (s *assertionSource) use(mint AssertionFunc) {
	s.mu.Lock()
	s.mint = mint
	s.mu.Unlock()
}

// takeLastSent returns the last assertion sent and its issuer, and forgets the assertion.
func (s *assertionSource) takeLastSent() (last, issuer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, s.last = s.last, ""
	return last, s.issuer
}

// assertion implements MSAL's callback.
func (s *assertionSource) assertion(ctx context.Context, _ confidential.AssertionRequestOptions) (string, error) {
	s.mu.Lock()
	mint := s.mint
	s.mu.Unlock()
	if mint == nil {
		return "", &Error{Kind: RequestFailed, Message: "No federated token source is configured"}
	}
	tok, err := mint(ctx)
	if err != nil {
		return "", sourceError(err)
	}
	s.mu.Lock()
	s.last, s.issuer = tok, issuerOf(tok)
	s.mu.Unlock()
	return tok, nil
}

// sourceError wraps a mint function's error as AssertionFunc documents. The wrapper's kind
// is Unavailable for a timeout or cancellation, as for any request, else RequestFailed.
func sourceError(err error) error {
	if _, ok := errors.AsType[*Error](err); ok {
		return err
	}
	kind := RequestFailed
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		kind = Unavailable
	}
	return &Error{Kind: kind, Message: "The federated token source failed: " + printable.Line(firstLine(err.Error()), 300), cause: err}
}

// issuerOf reads a JWT's iss claim without verifying it: it only names the issuer in advice.
func issuerOf(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return printable.Line(claims.Iss, 200)
}
