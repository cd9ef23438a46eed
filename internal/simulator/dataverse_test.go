package simulator

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const demoChallenge = "Bearer authorization_uri=https://login.microsoftonline.com/" + DemoTenantID + "/oauth2/authorize, resource_id=https://contoso.crm.dynamics.com/"

func TestChallengeFormat(t *testing.T) {
	s, _ := startSim(t)
	for _, path := range []string{"/api/data/v9.2/WhoAmI", "/api/data/", "/api/data/v9.2/accounts", "/XRMServices/2011/Organization.svc/web?SDKClientVersion=9.2.49"} {
		for _, auth := range []string{"", "Bearer ", "Basic Zm9vOmJhcg=="} {
			h := map[string]string{}
			if auth != "" {
				h["Authorization"] = auth
			}
			r := do(t, s, http.MethodGet, "https://contoso.crm.dynamics.com"+path, nil, h)
			if r.status != 401 || r.body != "" || r.header.Get("WWW-Authenticate") != demoChallenge || r.header.Get("401_error_reason") != "" {
				t.Errorf("%s (%q): status %d, challenge %q, body %q", path, auth, r.status, r.header.Get("WWW-Authenticate"), r.body)
			}
		}
	}
	// Sovereign environments name their own cloud's authority.
	r := do(t, s, http.MethodGet, "https://"+DemoGovEnvironmentHost+"/api/data/v9.2/WhoAmI", nil, nil)
	if want := "Bearer authorization_uri=https://login.microsoftonline.us/" + DemoGovTenantID + "/oauth2/authorize, resource_id=https://" + DemoGovEnvironmentHost + "/"; r.header.Get("WWW-Authenticate") != want {
		t.Errorf("gov challenge %q", r.header.Get("WWW-Authenticate"))
	}
	// The admin service challenges on /api/aad/challenge and has no Web API.
	r = do(t, s, http.MethodGet, "https://"+DemoAdminServiceHost+"/api/aad/challenge", nil, nil)
	if want := "Bearer authorization_uri=https://login.microsoftonline.com/" + DemoTenantID + "/oauth2/authorize, resource_id=https://" + DemoAdminServiceHost + "/"; r.status != 401 || r.header.Get("WWW-Authenticate") != want {
		t.Errorf("admin challenge %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
	if r := do(t, s, http.MethodGet, "https://"+DemoAdminServiceHost+"/api/data/v9.2/WhoAmI", nil, nil); r.status != 404 || !strings.Contains(r.body, `"code":"0x80060888"`) {
		t.Errorf("admin WhoAmI %d %s", r.status, r.body)
	}
}

func TestWhoAmIRejections(t *testing.T) {
	s, clk := startSim(t)
	env := "https://" + DemoEnvironmentHost
	good := secretToken(t, s, DemoClientID, env)

	reason := func(r response) string { return r.header.Get("401_error_reason") }
	check401 := func(name string, r response, prefix string) {
		t.Helper()
		if r.status != 401 || r.body != "" || r.header.Get("WWW-Authenticate") != demoChallenge || !strings.HasPrefix(reason(r), prefix) {
			t.Errorf("%s: status %d reason %q", name, r.status, reason(r))
		}
	}
	// Wrong audience: a token for the admin service.
	check401("wrong aud", whoAmI(t, s, DemoEnvironmentHost, secretToken(t, s, DemoClientID, "https://"+DemoAdminServiceHost)), "IDX10214:")
	// A token of another tenant for this environment.
	other, _, err := s.IssueAppToken(DemoGovTenantID, DemoGovClientID, env)
	if err != nil {
		t.Fatal(err)
	}
	check401("other tenant", whoAmI(t, s, DemoEnvironmentHost, other), "IDX10205:")
	// Not signed by the simulator.
	parts := strings.Split(good, ".")
	check401("tampered", whoAmI(t, s, DemoEnvironmentHost, parts[0]+"."+parts[1]+".c2lnbmF0dXJl"), "IDX10511:")
	check401("garbage", whoAmI(t, s, DemoEnvironmentHost, "not-a-jwt"), "IDX14100:")
	// Audience with a trailing slash is accepted.
	slash, _ := s.SignToken(TokenClaims{Audience: env + "/", Issuer: v1Issuer("login.microsoftonline.com", DemoTenantID), TenantID: DemoTenantID,
		AppID: DemoClientID, IDType: "app", NotBefore: clk.Now().Unix() - 10, ExpiresAt: clk.Now().Add(time.Hour).Unix()})
	if r := whoAmI(t, s, DemoEnvironmentHost, slash); r.status != 200 {
		t.Errorf("aud with slash: %d", r.status)
	}

	// Not an application user → 403.
	unlinked := secretToken(t, s, DemoUnlinkedClientID, env)
	if r := whoAmI(t, s, DemoEnvironmentHost, unlinked); r.status != 403 || r.body != `{"error":{"code":"0x80072560","message":"The user is not a member of the organization."}}` {
		t.Errorf("unlinked: %d %s", r.status, r.body)
	}
	s.AddApplicationUser(DemoEnvironmentHost, ApplicationUser{ClientID: DemoUnlinkedClientID})
	if r := whoAmI(t, s, DemoEnvironmentHost, unlinked); r.status != 200 {
		t.Errorf("after AddApplicationUser: %d", r.status)
	}
	s.RemoveApplicationUser(DemoEnvironmentHost, DemoClientID)
	if r := whoAmI(t, s, DemoEnvironmentHost, good); r.status != 403 || !strings.Contains(r.body, "0x80072560") {
		t.Errorf("removed: %d %s", r.status, r.body)
	}
	s.AddApplicationUser(DemoEnvironmentHost, ApplicationUser{ClientID: DemoClientID, UserID: "22cc22cc-dd33-4e44-8f55-66aa66aa66aa"})

	// Administration mode.
	s.SetAdminMode(DemoEnvironmentHost, true)
	r := whoAmI(t, s, DemoEnvironmentHost, good)
	if r.status != 403 || !strings.Contains(r.body, "when it is in Admin Only mode.") {
		t.Errorf("admin mode: %d %s", r.status, r.body)
	}
	s.AddApplicationUser(DemoEnvironmentHost, ApplicationUser{ClientID: DemoClientID, SystemAdministrator: true})
	if r := whoAmI(t, s, DemoEnvironmentHost, good); r.status != 200 {
		t.Errorf("admin in admin mode: %d", r.status)
	}
	s.SetAdminMode(DemoEnvironmentHost, false)

	// Not yet valid (clock moved back), then expired.
	clk.SetTime(clk.Now().Add(-10 * time.Minute))
	check401("nbf", whoAmI(t, s, DemoEnvironmentHost, good), "IDX10222:")
	clk.SetTime(clk.Now().Add(10*time.Minute + 75*time.Minute))
	check401("expired", whoAmI(t, s, DemoEnvironmentHost, good), "IDX10223:")

	if n := s.CountRequests(func(r Request) bool {
		return r.Host == DemoEnvironmentHost && r.Status == 403 && r.ClientID == DemoClientID
	}); n != 2 {
		t.Errorf("logged 403s of the demo app = %d, want 2", n)
	}
}

func TestWebAPIRoutes(t *testing.T) {
	s, _ := startSim(t)
	tok := secretToken(t, s, DemoClientID, "https://"+DemoEnvironmentHost)
	h := map[string]string{"Authorization": "Bearer " + tok}
	if r := do(t, s, http.MethodGet, "https://contoso.crm.dynamics.com/api/data/v9.0/WhoAmI()", nil, h); r.status != 200 || !strings.Contains(r.body, "/api/data/v9.0/$metadata#") {
		t.Errorf("WhoAmI() on v9.0: %d", r.status)
	}
	if r := do(t, s, http.MethodPost, "https://contoso.crm.dynamics.com/api/data/v9.2/WhoAmI", nil, h); r.status != 405 {
		t.Errorf("POST WhoAmI: %d", r.status)
	}
	if r := do(t, s, http.MethodGet, "https://contoso.crm.dynamics.com/api/data/v9.2/nothing", nil, h); r.status != 404 || !strings.Contains(r.body, "Resource not found for the segment 'nothing'.") {
		t.Errorf("unknown segment: %d %s", r.status, r.body)
	}
	if r := do(t, s, http.MethodGet, "https://contoso.crm.dynamics.com/api/data/v9.2/", nil, h); r.status != 200 {
		t.Errorf("service document: %d", r.status)
	}
}
