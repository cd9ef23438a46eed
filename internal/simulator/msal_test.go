package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

const demoScope = "https://" + DemoEnvironmentHost + "/.default"

func newConfidential(t *testing.T, s *Server, authority, clientID string, cred confidential.Credential, opts ...confidential.Option) confidential.Client {
	t.Helper()
	opts = append([]confidential.Option{confidential.WithHTTPClient(s.HTTPClient())}, opts...)
	c, err := confidential.New(authority, clientID, cred, opts...)
	if err != nil {
		t.Fatalf("confidential.New: %v", err)
	}
	return c
}

// TestMSALClientCredentials drives MSAL Go's real confidential client: the issued
// token works on WhoAmI, then expires with the fake clock.
func TestMSALClientCredentials(t *testing.T) {
	s, clk := startSim(t)
	ctx := context.Background()
	cred, err := confidential.NewCredFromSecret(DemoClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	c := newConfidential(t, s, "https://login.microsoftonline.com/"+DemoTenantID, DemoClientID, cred, confidential.WithInstanceDiscovery(false))
	res, err := c.AcquireTokenByCredential(ctx, []string{demoScope})
	if err != nil {
		t.Fatalf("AcquireTokenByCredential: %s", redact(err))
	}
	if d := time.Until(res.ExpiresOn); d < 74*time.Minute || d > 76*time.Minute {
		t.Errorf("ExpiresOn in %v, want about 75m", d)
	}
	claims, err := s.VerifyToken(res.AccessToken)
	if err != nil {
		t.Fatalf("VerifyToken: %v", err)
	}
	if claims.Audience != "https://"+DemoEnvironmentHost || claims.TenantID != DemoTenantID || claims.AppID != DemoClientID ||
		claims.IDType != "app" || claims.Version != "1.0" || claims.Issuer != "https://sts.windows.net/"+DemoTenantID+"/" {
		t.Errorf("unexpected claims %+v", claims)
	}

	r := whoAmI(t, s, DemoEnvironmentHost, res.AccessToken)
	if r.status != 200 {
		t.Fatalf("WhoAmI status %d: %s", r.status, r.body)
	}
	want := `{"@odata.context":"https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse","BusinessUnitId":"11bb11bb-cc22-4d33-8e44-55ff55ff55ff","UserId":"22cc22cc-dd33-4e44-8f55-66aa66aa66aa","OrganizationId":"00aa00aa-bb11-4c22-8d33-44ee44ee44ee"}`
	if r.body != want {
		t.Errorf("WhoAmI body\n got %s\nwant %s", r.body, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; odata.metadata=minimal" {
		t.Errorf("Content-Type %q", ct)
	}
	if r.header.Get("OData-Version") != "4.0" || r.header.Get("x-ms-ratelimit-burst-remaining-xrm-requests") != "5999" {
		t.Errorf("headers %v", r.header)
	}

	// The same client, a second call: served from MSAL's cache, no second POST.
	if _, err := c.AcquireTokenByCredential(ctx, []string{demoScope}); err != nil {
		t.Fatal(redact(err))
	}
	if n := s.CountRequests(func(r Request) bool { return r.Grant == "client_credentials" }); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}

	clk.Step(75*time.Minute + time.Second)
	r = whoAmI(t, s, DemoEnvironmentHost, res.AccessToken)
	if r.status != 401 || r.body != "" || !strings.HasPrefix(r.header.Get("401_error_reason"), "IDX10223:") {
		t.Errorf("expired token: status %d, body %q, reason %q", r.status, r.body, r.header.Get("401_error_reason"))
	}
	wantChallenge := "Bearer authorization_uri=https://login.microsoftonline.com/" + DemoTenantID + "/oauth2/authorize, resource_id=https://contoso.crm.dynamics.com/"
	if got := r.header.Get("WWW-Authenticate"); got != wantChallenge {
		t.Errorf("challenge %q", got)
	}
}

// TestMSALWrongSecret: 401 invalid_client AADSTS7000215 reaches the caller as a
// CallErr, and no secret ends up in the request log.
func TestMSALWrongSecret(t *testing.T) {
	s, _ := startSim(t)
	const wrong = "not-the-secret-value-123"
	cred, _ := confidential.NewCredFromSecret(wrong)
	// Instance discovery stays on here: MSAL asks the (simulated) trusted host.
	c := newConfidential(t, s, "https://login.microsoftonline.com/"+DemoTenantDomain, DemoClientID, cred)
	_, err := c.AcquireTokenByCredential(context.Background(), []string{demoScope})
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) {
		t.Fatalf("want CallErr, got %s", redact(err))
	}
	body, _ := io.ReadAll(ce.Resp.Body)
	if ce.Resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "AADSTS7000215") {
		t.Fatalf("status %d, %s", ce.Resp.StatusCode, errorCode(string(body)))
	}
	if id := ce.Resp.Header.Get("x-ms-request-id"); id == "" || !strings.Contains(string(body), `"trace_id":"`+id+`"`) {
		t.Errorf("x-ms-request-id %q is not the trace_id", id)
	}
	if n := s.CountRequests(func(r Request) bool { return r.Path == "/common/discovery/instance" }); n == 0 {
		t.Error("MSAL did not use instance discovery")
	}

	good, _ := confidential.NewCredFromSecret(DemoClientSecret)
	c = newConfidential(t, s, "https://login.microsoftonline.com/"+DemoTenantID, DemoClientID, good)
	res, err := c.AcquireTokenByCredential(context.Background(), []string{demoScope})
	if err != nil {
		t.Fatal(redact(err))
	}
	logged := fmt.Sprint(s.Requests())
	for _, secret := range []string{wrong, DemoClientSecret, res.AccessToken} {
		if strings.Contains(logged, secret) {
			t.Error("the request log holds a secret or token")
		}
	}
}

// TestMSALSovereignClouds: a US Government tenant on login.microsoftonline.us.
func TestMSALSovereignClouds(t *testing.T) {
	s, _ := startSim(t)
	cred, _ := confidential.NewCredFromSecret(DemoClientSecret)
	for _, tc := range []struct{ authority, tenant, client, env, iss string }{
		{"https://login.microsoftonline.us/", DemoGovTenantID, DemoGovClientID, DemoGovEnvironmentHost, "https://login.microsoftonline.us/"},
		{"https://login.partner.microsoftonline.cn/", DemoChinaTenantID, DemoChinaClientID, DemoChinaEnvironmentHost, "https://sts.chinacloudapi.cn/"},
	} {
		c := newConfidential(t, s, tc.authority+tc.tenant, tc.client, cred, confidential.WithInstanceDiscovery(false))
		res, err := c.AcquireTokenByCredential(context.Background(), []string{"https://" + tc.env + "/.default"})
		if err != nil {
			t.Fatalf("%s: %s", tc.env, redact(err))
		}
		claims, _ := s.VerifyToken(res.AccessToken)
		if claims == nil || claims.Issuer != tc.iss+tc.tenant+"/" {
			t.Errorf("%s: claims %+v", tc.env, claims)
		}
		if r := whoAmI(t, s, tc.env, res.AccessToken); r.status != 200 {
			t.Errorf("%s: WhoAmI %d", tc.env, r.status)
		}
		// The commercial resource does not exist in a sovereign cloud.
		_, err = c.AcquireTokenByCredential(context.Background(), []string{demoScope})
		var ce msalerrors.CallErr
		if !errors.As(err, &ce) || ce.Resp.StatusCode != 400 {
			t.Errorf("%s: commercial resource from a sovereign cloud: %s", tc.env, redact(err))
		}
	}
}

// redact keeps test output free of tokens: MSAL errors quote response bodies.
func redact(err error) string {
	if err == nil {
		return "<nil>"
	}
	msg := err.Error()
	if i := strings.Index(msg, "eyJ"); i >= 0 {
		msg = msg[:i] + "<redacted>"
	}
	return msg
}
