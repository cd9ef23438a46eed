package dataverse_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/transport/transporttest"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// testToken stands in for an access token; no message may ever contain it.
const testToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.test-token-never-printed" //nolint:gosec // a fake

const whoAmIBody = `{"@odata.context":"https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse","BusinessUnitId":"11bb11bb-cc22-dd33-ee44-55ff55ff55ff","UserId":"22cc22cc-dd33-ee44-ff55-66aa66aa66aa","OrganizationId":"00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}`

func TestWhoAmISendsTheDocumentedRequest(t *testing.T) {
	srv := transporttest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := map[string]string{
			"Accept":           "application/json",
			"OData-MaxVersion": "4.0",
			"OData-Version":    "4.0",
			"Authorization":    "Bearer " + testToken,
		}
		if r.Method != http.MethodGet || r.URL.Path != "/api/data/v9.2/WhoAmI" {
			t.Errorf("request %s %s, want GET /api/data/v9.2/WhoAmI", r.Method, r.URL.Path)
		}
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("header %s is not the expected value (len %d, want len %d)", k, len(got), len(v))
			}
		}
		w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
		_, _ = w.Write([]byte(whoAmIBody))
	}), "contoso.crm.dynamics.com")

	got, err := dataverse.NewClient(srv.Client()).WhoAmI(context.Background(), "https://contoso.crm.dynamics.com/", testToken)
	if err != nil {
		t.Fatalf("WhoAmI: %v", err)
	}
	want := dataverse.Identity{
		UserID:         "22cc22cc-dd33-ee44-ff55-66aa66aa66aa",
		BusinessUnitID: "11bb11bb-cc22-dd33-ee44-55ff55ff55ff",
		OrganizationID: "00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
	}
	if got != want {
		t.Errorf("WhoAmI = %+v, want %+v", got, want)
	}
}

func TestWhoAmIFailures(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
	reply := func(status int, body string, headers ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i+1 < len(headers); i += 2 {
				w.Header().Set(headers[i], headers[i+1])
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantKind  dataverse.Kind
		wantCode  string
		wantText  string
		wantRetry string
	}{
		{"a 401 is a rejected token and says why", reply(401, "", "WWW-Authenticate", realChallenge, "401_error_reason", "IDX10214: Audience validation failed."),
			dataverse.TokenRejected, "", "IDX10214: Audience validation failed.", ""},
		{"a 403 0x80072560 means the application user is missing", reply(403, `{"error":{"code":"0x80072560","message":"The user is not a member of the organization."}}`),
			dataverse.ApplicationUserNotFound, "0x80072560", "application user with a security role, in the Power Platform admin center", ""},
		{"admin mode is recognised by its message", reply(403, `{"error":{"code":"0x80040225","message":"User does not have required privileges (or role membership) to access the org when it is in Admin Only mode."}}`),
			dataverse.AdminMode, "0x80040225", "administration mode", ""},
		{"another 403 is access denied", reply(403, `{"error":{"code":"0x80095ffc","message":"Access to Dataverse API is restricted for this application Id : 'x'."}}`),
			dataverse.AccessDenied, "0x80095ffc", "Access to Dataverse API is restricted", ""},
		{"a 429 for requests names that limit", reply(429, `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`, "Retry-After", "7"),
			dataverse.Throttled, "0x80072322", "the number of requests per 5 minutes was exceeded", "7s"},
		{"a 429 for execution time names that limit", reply(429, `{"error":{"code":"0x80072321","message":"Combined execution time of incoming requests exceeded limit of 1,200,000  milliseconds over time window of 300 seconds."}}`, "Retry-After", "12.5"),
			dataverse.Throttled, "0x80072321", "combined execution time", "12.5s"},
		{"a 429 for concurrency names that limit", reply(429, `{"error":{"code":"0x80072326","message":"Number of concurrent requests exceeded the limit of 52."}}`, "Retry-After", "1"),
			dataverse.Throttled, "0x80072326", "concurrent requests", "1s"},
		{"a Retry-After HTTP date is measured on the injected clock", reply(429, "", "Retry-After", "Sat, 21 Nov 2026 10:01:00 GMT"),
			dataverse.Throttled, "", "retrying after 1m0s", "1m0s"},
		{"a 503 with Retry-After is throttling", reply(503, "", "Retry-After", "5"),
			dataverse.Throttled, "", "HTTP 503", "5s"},
		{"a 500 is an outage", reply(500, `{"error":{"code":"0x80040216","message":"An unexpected error occurred."}}`),
			dataverse.Unavailable, "0x80040216", "An unexpected error occurred.", ""},
		{"a 404 is a retryable WhoAmI failure", reply(404, `{"error":{"code":"0x80060888","message":"Resource not found for the segment 'WhoAmI'."}}`),
			dataverse.UnexpectedAnswer, "0x80060888", "HTTP 404", ""},
		{"a 200 that is not a WhoAmIResponse fails", reply(200, `<html>login</html>`),
			dataverse.UnexpectedAnswer, "", "not with a WhoAmIResponse", ""},
		{"a 200 larger than the cap fails", reply(200, `{"UserId":"`+strings.Repeat("a", transport.MaxResponseBytes)+`"}`),
			dataverse.UnexpectedAnswer, "", "exceeds", ""},
		{"control characters in a server message are cleaned away", reply(400, `{"error":{"code":"0x0","message":"bad\r\nrequest\u0007"}}`),
			dataverse.UnexpectedAnswer, "0x0", "0x0: bad request", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := transporttest.NewServer(t, tc.handler, "contoso.crm.dynamics.com")
			_, err := dataverse.NewClient(srv.Client(), dataverse.WithClock(clk)).WhoAmI(context.Background(), "https://contoso.crm.dynamics.com", testToken)
			checkError(t, err, dataverse.OpWhoAmI, tc.wantKind, tc.wantText, tc.wantRetry)
			var de *dataverse.Error
			if errors.As(err, &de) && de.Code != tc.wantCode {
				t.Errorf("code %q, want %q", de.Code, tc.wantCode)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Error("the error message contains the access token")
			}
		})
	}
}

func TestWhoAmIRefusesBadInputWithoutARequest(t *testing.T) {
	srv := transporttest.NewServer(t, failOnRequest(t), "contoso.crm.dynamics.com")
	c := dataverse.NewClient(srv.Client())
	tests := []struct {
		name, envURL, token, wantText string
	}{
		{"plain http would expose the token", "http://contoso.crm.dynamics.com", testToken, "must be https"},
		{"an empty token is not sent", "https://contoso.crm.dynamics.com", "", "No access token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.WhoAmI(context.Background(), tc.envURL, tc.token)
			checkError(t, err, dataverse.OpWhoAmI, dataverse.InvalidRequest, tc.wantText, "")
		})
	}
}

func TestWithTrustRefusesUntrustedEnvironmentsWithoutARequest(t *testing.T) {
	srv := transporttest.NewServer(t, failOnRequest(t), "contoso.crm.dynamics.com.evil.example")
	c := dataverse.NewClient(srv.Client(), dataverse.WithTrust(trust.NewPolicy(nil, nil)))
	const env = "https://contoso.crm.dynamics.com.evil.example/"
	tests := []struct {
		name string
		call func() error
	}{
		{"Discover", func() error { _, err := c.Discover(context.Background(), env); return err }},
		{"WhoAmI, which would send the token", func() error { _, err := c.WhoAmI(context.Background(), env, testToken); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var te *trust.Error
			if err := tc.call(); !errors.As(err, &te) || te.Kind != trust.KindEnvironment {
				t.Fatalf("got %v, want the environment refused", err)
			}
		})
	}
}
