package dataverse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/d365-operator/d365-operator/internal/transport"
)

// get sends an authenticated GET for path (relative to the environment's Web API root) with
// the OData headers the Web API documentation recommends, and decodes a 200 answer into out;
// valid says whether the decoded answer is the documented type. It returns the answer's
// service protection budget. Failures are *Error values (or a *trust.Error) whose messages
// never contain the token.
func (c *Client) get(ctx context.Context, op Op, environmentURL, accessToken, path string, out any, valid func() bool) (Budget, error) {
	env, err := c.parseEnvironment(environmentURL, op)
	if err != nil {
		return Budget{}, err
	}
	if accessToken == "" {
		return Budget{}, &Error{Op: op, Kind: InvalidRequest, Message: "No access token to check"}
	}
	return c.getURL(ctx, op, env.Host(), env.WebAPIURL()+path, accessToken, out, valid)
}

// getURL is get for an absolute URL on host (an @odata.nextLink, already checked).
func (c *Client) getURL(ctx context.Context, op Op, host, url, accessToken string, out any, valid func() bool) (Budget, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Budget{}, &Error{Op: op, Kind: InvalidRequest, Message: fmt.Sprintf("Cannot build the %s request: %v", op.function(), err)}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-MaxVersion", "4.0")
	req.Header.Set("OData-Version", "4.0")
	req.Header.Set("Authorization", "Bearer "+accessToken)

	resp, err := c.http.Do(req)
	if err != nil {
		return Budget{}, networkError(op, host, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, readErr := transport.ReadBody(resp.Body) // read whole (up to the cap): the connection is reused
	budget := parseBudget(resp.Header)

	if resp.StatusCode != http.StatusOK {
		return budget, c.callError(op, resp, body)
	}
	if readErr != nil {
		return budget, &Error{Op: op, Kind: UnexpectedAnswer, StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("Reading the %s answer from %s failed: %v", op.function(), host, readErr)}
	}
	if err := json.Unmarshal(body, out); err != nil || !valid() {
		return budget, &Error{Op: op, Kind: UnexpectedAnswer, StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("%s answered %s with HTTP 200 but not with a %s", host, op.function(), op.response())}
	}
	return budget, nil
}
