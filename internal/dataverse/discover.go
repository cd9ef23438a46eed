package dataverse

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/d365-operator/d365-operator/internal/printable"

	"github.com/d365-operator/d365-operator/internal/environment"
	"github.com/d365-operator/d365-operator/internal/transport"
)

// Authority is where an environment's tokens come from and what they are requested for.
type Authority struct {
	// TenantID is the tenant from the authorize URI's path ("organizations" for "common").
	TenantID string
	// AuthorityHost is the login host's origin, e.g. "https://login.microsoftonline.com".
	AuthorityHost string
	// Authority is the MSAL authority, e.g. "https://login.microsoftonline.com/<tenant>/".
	Authority string
	// Resource is the token's resource, e.g. "https://contoso.crm.dynamics.com/" (trailing slash).
	Resource string
}

// Discover finds the environment's authority from its bearer challenge: an unauthenticated
// GET of <env>/api/data/v9.2/ (or <env>/api/aad/challenge for the Online Management API and
// Global Discovery hosts) must answer 401 with a WWW-Authenticate Bearer challenge. Several
// WWW-Authenticate values are tried in order and non-Bearer schemes are skipped.
// Failures are *Error values (or a *trust.Error, see WithTrust); nothing here sends a credential.
func (c *Client) Discover(ctx context.Context, environmentURL string) (Authority, error) {
	env, err := c.parseEnvironment(environmentURL, OpDiscover)
	if err != nil {
		return Authority{}, err
	}
	probe := env.WebAPIURL()
	if env.Kind() != environment.Dataverse {
		probe = env.URL() + "api/aad/challenge" // these hosts have no Web API
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, probe, nil)
	if err != nil {
		return Authority{}, &Error{Op: OpDiscover, Kind: InvalidRequest, Message: "Cannot build the challenge request: " + err.Error()}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return Authority{}, networkError(OpDiscover, env.Host(), err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := transport.ReadBody(resp.Body) // read whole (up to the cap): the connection is reused

	if resp.StatusCode != http.StatusUnauthorized {
		return Authority{}, c.discoveryStatusError(env, resp, body)
	}
	values := resp.Header.Values("WWW-Authenticate")
	var lastErr error
	for _, v := range values {
		ch, err := ParseChallenge(v)
		if err != nil {
			lastErr = err
			continue
		}
		return authorityFromChallenge(ch)
	}
	why := "no WWW-Authenticate header"
	if lastErr != nil {
		why = fmt.Sprintf("%v (WWW-Authenticate: %s)", lastErr, printable.Line(strings.Join(values, "; "), 200))
	}
	return Authority{}, &Error{
		Op:         OpDiscover,
		Kind:       NoChallenge,
		StatusCode: resp.StatusCode,
		Message:    fmt.Sprintf("%s answered 401 without a usable bearer challenge: %s; set spec.tenantID and spec.authorityHost to skip discovery", env.Host(), why),
	}
}

// discoveryStatusError explains an answer other than 401 to the unauthenticated probe.
func (c *Client) discoveryStatusError(env environment.Environment, resp *http.Response, body []byte) *Error {
	if e := c.transientError(OpDiscover, resp, body); e != nil {
		return e
	}
	msg := fmt.Sprintf("%s answered HTTP %d to an unauthenticated request instead of a 401 bearer challenge; check that spec.environmentURL is the environment's URL (https://<org>.crm.dynamics.com)",
		env.Host(), resp.StatusCode)
	return &Error{Op: OpDiscover, Kind: NoChallenge, StatusCode: resp.StatusCode, Message: msg}
}

// authorityFromChallenge turns a challenge into MSAL's authority and the token's resource,
// as ServiceClient does: "/oauth2/authorize" is dropped and "common" becomes "organizations".
func authorityFromChallenge(ch Challenge) (Authority, error) {
	fail := func(format string, args ...any) (Authority, error) {
		return Authority{}, &Error{Op: OpDiscover, Kind: NoChallenge, Message: fmt.Sprintf(format, args...)}
	}
	au, err := url.Parse(ch.AuthorizationURI)
	if err != nil || au.Scheme == "" || au.Host == "" {
		return fail("The bearer challenge's authorization_uri %q is not an absolute URL", printable.Line(ch.AuthorizationURI, 200))
	}
	tenant, _, _ := strings.Cut(strings.TrimPrefix(au.EscapedPath(), "/"), "/")
	if tenant == "" {
		return fail("The bearer challenge's authorization_uri %q names no tenant", printable.Line(ch.AuthorizationURI, 200))
	}
	if strings.EqualFold(tenant, "common") {
		tenant = "organizations" // client credentials cannot use "common"; ServiceClient does the same
	}
	ru, err := url.Parse(ch.ResourceID)
	if err != nil || ru.Scheme == "" || ru.Host == "" {
		return fail("The bearer challenge's resource_id %q is not an absolute URL", printable.Line(ch.ResourceID, 200))
	}
	host := strings.ToLower(au.Scheme) + "://" + strings.ToLower(au.Host)
	return Authority{TenantID: tenant, AuthorityHost: host, Authority: host + "/" + tenant + "/", Resource: environment.CanonicalResource(ru)}, nil
}
