package dataverse

import (
	"context"
	"net/http"

	"k8s.io/utils/clock"

	"github.com/d365-operator/d365-operator/internal/environment"
	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// Client calls the Dataverse Web API. It is safe for concurrent use.
type Client struct {
	http  *http.Client
	clock clock.PassiveClock
	trust *trust.Policy
	// checkTrust: WithTrust was given; without it the caller checks hosts itself.
	checkTrust bool
}

// Option configures a Client.
type Option func(*Client)

// WithClock sets the clock an HTTP-date Retry-After is measured against (default: real time).
func WithClock(c clock.PassiveClock) Option {
	return func(cl *Client) { cl.clock = c }
}

// WithTrust makes Discover and WhoAmI refuse, with a *trust.Error and without a request,
// environments the policy does not trust. WhoAmI sends a token to the environment URL, so
// this is the last line of defence should a caller forget its own check.
// A nil policy is the built-in one, as everywhere in package trust.
func WithTrust(p *trust.Policy) Option {
	return func(cl *Client) { cl.trust, cl.checkTrust = p, true }
}

// NewClient returns a Client using httpClient (nil: transport.NewHTTPClient with defaults).
func NewClient(httpClient *http.Client, opts ...Option) *Client {
	if httpClient == nil {
		httpClient = transport.NewHTTPClient(transport.Options{})
	}
	c := &Client{http: httpClient, clock: clock.RealClock{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Identity is who the environment says the token belongs to.
type Identity struct {
	// UserID is the systemuserid of the application user.
	UserID string
	// BusinessUnitID is the user's business unit.
	BusinessUnitID string
	// OrganizationID is the environment's organization.
	OrganizationID string
	// Budget is what the answer's service protection headers said remained.
	Budget Budget
}

// whoAmIResponse is Microsoft.Dynamics.CRM.WhoAmIResponse.
type whoAmIResponse struct {
	BusinessUnitID string `json:"BusinessUnitId"`
	UserID         string `json:"UserId"`
	OrganizationID string `json:"OrganizationId"`
}

// WhoAmI asks the environment who accessToken belongs to: GET <env>/api/data/v9.2/WhoAmI
// with the OData headers the Web API documentation recommends. Failures are *Error values
// (or a *trust.Error, see WithTrust) whose messages never contain the token.
func (c *Client) WhoAmI(ctx context.Context, environmentURL, accessToken string) (Identity, error) {
	var who whoAmIResponse
	budget, err := c.get(ctx, OpWhoAmI, environmentURL, accessToken, "WhoAmI", &who, func() bool { return who.UserID != "" })
	if err != nil {
		return Identity{}, err
	}
	return Identity{UserID: who.UserID, BusinessUnitID: who.BusinessUnitID, OrganizationID: who.OrganizationID, Budget: budget}, nil
}

// parseEnvironment parses the environment URL strictly (plain http is refused here, not
// only by the trust policy, because WhoAmI sends a token to it) and applies the trust
// check, if any; op labels a malformed URL.
func (c *Client) parseEnvironment(environmentURL string, op Op) (environment.Environment, error) {
	env, err := environment.Parse(environmentURL)
	if err != nil {
		return environment.Environment{}, &Error{Op: op, Kind: InvalidRequest, Message: err.Error()}
	}
	if c.checkTrust {
		if err := c.trust.CheckEnvironment(env.Root()); err != nil {
			return environment.Environment{}, err
		}
	}
	return env, nil
}
