package simulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var v2TokenURL = "https://login.microsoftonline.com/" + DemoTenantID + "/oauth2/v2.0/token"

func ccForm(clientID, secret, scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {scope}}
}

func TestErrorBodyShape(t *testing.T) {
	s, _ := startSim(t)
	r := do(t, s, http.MethodPost, v2TokenURL, ccForm(DemoClientID, "wrong", demoScope+" openid offline_access profile"),
		map[string]string{"client-request-id": "0f1e2d3c-4b5a-4968-8776-655443322110"})
	e := expectEntraError(t, r, 401, "invalid_client", 7000215)
	descRE := regexp.MustCompile(`^AADSTS7000215: Invalid client secret provided\. .* Trace ID: [0-9a-f-]{36} Correlation ID: 0f1e2d3c-4b5a-4968-8776-655443322110 Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$`)
	if !descRE.MatchString(e.ErrorDescription) {
		t.Errorf("error_description %q", e.ErrorDescription)
	}
	if e.CorrelationID != "0f1e2d3c-4b5a-4968-8776-655443322110" || e.ErrorURI != "https://login.microsoftonline.com/error?code=7000215" {
		t.Errorf("correlation_id %q error_uri %q", e.CorrelationID, e.ErrorURI)
	}
	if !strings.Contains(r.body, `"error_codes":[7000215]`) {
		t.Error("error_codes is not a JSON number array")
	}
	for k, v := range map[string]string{"Cache-Control": "no-store, no-cache", "Content-Type": "application/json; charset=utf-8", "x-ms-request-id": e.TraceID} {
		if r.header.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, r.header.Get(k), v)
		}
	}
}

func TestTokenErrorCatalogue(t *testing.T) {
	s, clk := startSim(t)
	s.SetAppSecrets(DemoTenantID, DemoUnlinkedClientID, Secret{Value: "expired-one", ExpiresAt: clk.Now().Add(-time.Minute)})
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(DemoClientID+":"+url.QueryEscape(DemoClientSecret)))
	for _, tc := range []struct {
		name   string
		url    string
		form   url.Values
		header map[string]string
		status int
		code   string
		aadsts int
	}{
		{"expired secret", v2TokenURL, ccForm(DemoUnlinkedClientID, "expired-one", demoScope), nil, 401, "invalid_client", 7000222},
		{"no secret", v2TokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoClientID}, "scope": {demoScope}}, nil, 401, "invalid_client", 7000218},
		{"unknown app", v2TokenURL, ccForm("11111111-2222-4333-8444-555555555555", "x", demoScope), nil, 400, "unauthorized_client", 700016},
		{"unknown tenant", "https://login.microsoftonline.com/nope.onmicrosoft.com/oauth2/v2.0/token", ccForm(DemoClientID, DemoClientSecret, demoScope), nil, 400, "invalid_tenant", 90002},
		{"tenant of another cloud", "https://login.microsoftonline.us/" + DemoTenantID + "/oauth2/v2.0/token", ccForm(DemoClientID, DemoClientSecret, demoScope), nil, 400, "invalid_tenant", 90002},
		{"unknown resource", v2TokenURL, ccForm(DemoClientID, DemoClientSecret, "https://evil.example/.default"), nil, 400, "invalid_resource", 500011},
		{"scope without .default", v2TokenURL, ccForm(DemoClientID, DemoClientSecret, "https://contoso.crm.dynamics.com/user_impersonation"), nil, 400, "invalid_scope", 1002012},
		{"bad delegated scope", v2TokenURL, url.Values{"grant_type": {"password"}, "client_id": {DemoPublicClientID}, "username": {DemoUserUPN}, "password": {DemoUserPassword}, "scope": {"https://contoso.crm.dynamics.com/Files.Read"}}, nil, 400, "invalid_scope", 70011},
		{"two resources", v2TokenURL, ccForm(DemoClientID, DemoClientSecret, demoScope+" https://admin.services.crm.dynamics.com/.default"), nil, 400, "invalid_scope", 700022},
		{"resource on v2", v2TokenURL, func() url.Values {
			f := ccForm(DemoClientID, DemoClientSecret, demoScope)
			f.Set("resource", "https://contoso.crm.dynamics.com")
			return f
		}(), nil, 400, "invalid_request", 901002},
		{"client credentials at common", "https://login.microsoftonline.com/common/oauth2/v2.0/token", ccForm(DemoClientID, DemoClientSecret, demoScope), nil, 400, "invalid_request", 50059},
		{"unsupported grant", v2TokenURL, url.Values{"grant_type": {"magic"}, "client_id": {DemoClientID}}, nil, 400, "unsupported_grant_type", 70003},
		{"missing grant", v2TokenURL, url.Values{"client_id": {DemoClientID}}, nil, 400, "invalid_request", 900144},
		{"wrong basic secret", v2TokenURL, url.Values{"grant_type": {"client_credentials"}, "scope": {demoScope}}, map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(DemoClientID+":nope"))}, 401, "invalid_client", 7000215},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectEntraError(t, do(t, s, http.MethodPost, tc.url, tc.form, tc.header), tc.status, tc.code, tc.aadsts)
		})
	}
	t.Run("GET on token endpoint", func(t *testing.T) {
		expectEntraError(t, do(t, s, http.MethodGet, v2TokenURL, nil, nil), 400, "invalid_request", 900561)
	})
	t.Run("basic auth succeeds", func(t *testing.T) {
		r := do(t, s, http.MethodPost, v2TokenURL, url.Values{"grant_type": {"client_credentials"}, "scope": {demoScope}}, map[string]string{"Authorization": basic})
		if r.status != 200 {
			t.Fatalf("status %d %s", r.status, errorCode(r.body))
		}
	})
}

func TestV2SuccessShape(t *testing.T) {
	s, _ := startSim(t)
	r := do(t, s, http.MethodPost, v2TokenURL, ccForm(DemoClientID, DemoClientSecret, demoScope+" openid offline_access profile"), nil)
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, errorCode(r.body))
	}
	// Exactly the recorded keys, in order, with numbers.
	if !regexp.MustCompile(`^\{"token_type":"Bearer","expires_in":4500,"ext_expires_in":4500,"access_token":"[A-Za-z0-9_.-]+"\}$`).MatchString(r.body) {
		t.Errorf("v2 body shape: %s", regexp.MustCompile(`"access_token":"[^"]*"`).ReplaceAllString(r.body, `"access_token":"…"`))
	}
	// Two tokens differ (uti).
	a, b := secretToken(t, s, DemoClientID, "https://"+DemoEnvironmentHost), secretToken(t, s, DemoClientID, "https://"+DemoEnvironmentHost)
	if a == b {
		t.Error("two tokens are identical")
	}
	s.SetTokenLifetime(10 * time.Minute)
	r = do(t, s, http.MethodPost, v2TokenURL, ccForm(DemoClientID, DemoClientSecret, demoScope), nil)
	if !strings.Contains(r.body, `"expires_in":600,`) {
		t.Error("SetTokenLifetime not applied")
	}
}

func TestV1StringNumbers(t *testing.T) {
	s, clk := startSim(t)
	r := do(t, s, http.MethodPost, "https://login.microsoftonline.com/"+DemoTenantDomain+"/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret},
		"resource": {"https://contoso.crm.dynamics.com/"},
	}, nil)
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, errorCode(r.body))
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"expires_in", "ext_expires_in", "expires_on", "not_before"} {
		if _, ok := m[k].(string); !ok {
			t.Errorf("%s is %T, want a string", k, m[k])
		}
	}
	on, _ := strconv.ParseInt(m["expires_on"].(string), 10, 64)
	nb, _ := strconv.ParseInt(m["not_before"].(string), 10, 64)
	if on != clk.Now().Add(75*time.Minute).Unix() || on-nb != 4500+300 {
		t.Errorf("expires_on %d not_before %d", on, nb)
	}
	if m["resource"] != "https://contoso.crm.dynamics.com/" || m["token_type"] != "Bearer" {
		t.Errorf("resource %v token_type %v", m["resource"], m["token_type"])
	}
	if !strings.HasPrefix(r.body, `{"token_type":"Bearer","expires_in":"4500","ext_expires_in":"4500","expires_on":`) {
		t.Error("v1 field order")
	}
	claims, err := s.VerifyToken(m["access_token"].(string))
	if err != nil || claims.Audience != "https://contoso.crm.dynamics.com" {
		t.Errorf("aud %v (%v)", claims, err)
	}
	expectEntraError(t, do(t, s, http.MethodPost, "https://login.microsoftonline.com/"+DemoTenantID+"/oauth2/token", ccForm(DemoClientID, DemoClientSecret, demoScope), nil), 400, "invalid_request", 900144)
}

func TestDiscoveryDocuments(t *testing.T) {
	s, _ := startSim(t)
	r := do(t, s, http.MethodGet, "https://login.microsoftonline.com/"+DemoTenantDomain+"/v2.0/.well-known/openid-configuration", nil, nil)
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil || r.status != 200 {
		t.Fatalf("status %d: %v", r.status, err)
	}
	if doc["issuer"] != "https://login.microsoftonline.com/"+DemoTenantID+"/v2.0" ||
		doc["token_endpoint"] != "https://login.microsoftonline.com/"+DemoTenantID+"/oauth2/v2.0/token" ||
		doc["cloud_instance_name"] != "microsoftonline.com" {
		t.Errorf("document %v", doc)
	}
	if r.header.Get("Cache-Control") != "max-age=86400, private" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	r = do(t, s, http.MethodGet, "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration", nil, nil)
	if !strings.Contains(r.body, `"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0"`) || !strings.Contains(r.body, `"tenant_region_scope":null`) {
		t.Error("multi-tenant document")
	}
	expectEntraError(t, do(t, s, http.MethodGet, "https://login.microsoftonline.com/00000000-0000-4000-8000-000000000000/v2.0/.well-known/openid-configuration", nil, nil), 400, "invalid_tenant", 90002)

	r = do(t, s, http.MethodGet, "https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint="+
		url.QueryEscape("https://login.microsoftonline.com/"+DemoTenantID+"/oauth2/v2.0/authorize"), nil, nil)
	if r.status != 200 || !strings.Contains(r.body, `"tenant_discovery_endpoint":"https://login.microsoftonline.com/`+DemoTenantID+`/v2.0/.well-known/openid-configuration"`) {
		t.Errorf("instance discovery %d", r.status)
	}
	expectEntraError(t, do(t, s, http.MethodGet, "https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint="+
		url.QueryEscape("https://login.evil.example/x/oauth2/v2.0/authorize"), nil, nil), 400, "invalid_instance", 50049)

	r = do(t, s, http.MethodGet, "https://login.microsoftonline.com/"+DemoTenantID+"/discovery/v2.0/keys", nil, nil)
	keys, err := parseJWKS([]byte(r.body))
	if err != nil || len(keys) != 1 || !publicKeysEqual(keys[0], testSigningKey().Public()) {
		t.Errorf("JWKS: %v", err)
	}
}

func TestExtraHostAnswersLikeEntra(t *testing.T) {
	s, _ := startSim(t, func(c *Config) { c.ExtraHosts = []string{"login.evil.example"} })
	if _, ok := s.HostAliases()["login.evil.example:443"]; !ok {
		t.Fatal("extra host has no alias")
	}
	expectEntraError(t, do(t, s, http.MethodGet, "https://login.evil.example/"+DemoTenantID+"/v2.0/.well-known/openid-configuration", nil, nil), 400, "invalid_tenant", 90002)
	r := do(t, s, http.MethodPost, "https://login.evil.example/"+DemoTenantID+"/oauth2/v2.0/token", ccForm(DemoClientID, DemoClientSecret, demoScope), nil)
	if r.status != 400 || !strings.Contains(r.body, `"error_uri":"https://login.evil.example/error?code=90002"`) {
		t.Errorf("status %d %s", r.status, errorCode(r.body))
	}
}

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"bad tenant id":   {Tenants: []Tenant{{ID: "contoso"}}},
		"env of nobody":   {Environments: []Environment{{Host: "x.crm.dynamics.com", TenantID: DemoTenantID}}},
		"duplicate hosts": {Tenants: []Tenant{{ID: DemoTenantID}}, Environments: []Environment{{Host: "login.microsoftonline.com", TenantID: DemoTenantID}}},
		"bad host":        {Tenants: []Tenant{{ID: DemoTenantID, AuthorityHost: "https://login"}}},
	} {
		cfg.SigningKey = testSigningKey()
		if s, err := Start(cfg); err == nil {
			s.Close()
			t.Errorf("%s: Start succeeded", name)
		}
	}
}
