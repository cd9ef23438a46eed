package simulator

import (
	"html"
	"net/http"
	"net/url"
	"strings"
)

// serveEntra routes the requests of an authority host (or extra host).
func (s *Server) serveEntra(w http.ResponseWriter, r *http.Request, host string) {
	raw := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	seg := make([]string, len(raw))
	for i, p := range raw {
		seg[i] = strings.ToLower(p)
	}
	path := strings.Join(seg[min(1, len(seg)):], "/") // the path after the tenant
	switch {
	case len(seg) == 1 && seg[0] == "error":
		s.serveErrorPage(w, r)
	case seg[0] == commonTenant && path == "discovery/instance":
		s.serveInstanceDiscovery(w, r)
	case seg[0] == commonTenant && len(seg) == 3 && seg[1] == "userrealm":
		s.serveUserRealm(w, host, raw[2])
	case seg[0] == commonTenant && path == "oauth2/deviceauth":
		s.serveDeviceAuthPage(w, r, host)
	case path == "v2.0/.well-known/openid-configuration":
		s.serveOpenIDConfiguration(w, r, host, raw[0], true)
	case path == ".well-known/openid-configuration":
		s.serveOpenIDConfiguration(w, r, host, raw[0], false)
	case path == "discovery/v2.0/keys" || path == "discovery/keys":
		s.serveKeys(w, r, host, raw[0])
	case path == "oauth2/v2.0/token":
		s.serveToken(w, r, host, raw[0], false)
	case path == "oauth2/token":
		s.serveToken(w, r, host, raw[0], true)
	case path == "oauth2/v2.0/devicecode":
		s.serveDeviceCode(w, r, host, raw[0])
	case path == "oauth2/v2.0/authorize":
		s.serveAuthorize(w, r, host, raw[0])
	default:
		http.NotFound(w, r)
	}
}

// commonTenant is the multi-tenant path segment of the tenant-independent endpoints.
const commonTenant = "common"

// isMultiTenant reports whether a tenant path segment is one of the multi-tenant
// aliases rather than a directory.
func isMultiTenant(seg string) bool {
	switch strings.ToLower(seg) {
	case commonTenant, "organizations", "consumers":
		return true
	}
	return false
}

// openIDConfiguration has the field order of the recorded v2 document (reference §3.1).
type openIDConfiguration struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	KerberosEndpoint                  string   `json:"kerberos_endpoint"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
	RBACURL                           string   `json:"rbac_url"`
}

// serveOpenIDConfiguration answers /{tenant}[/v2.0]/.well-known/openid-configuration.
// For a tenant, every URL names the tenant GUID even when it was addressed by domain;
// the issuer is https://<host>/<guid>/v2.0 with no port, so MSAL's issuer check
// (scheme and host equal to the authority's) passes for clients that dial host:443.
// The multi-tenant aliases get the literal {tenantid} issuer.
func (s *Server) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request, host, seg string, v2 bool) {
	pathTenant, issuerTenant := strings.ToLower(seg), "{tenantid}"
	var region *string
	c := cloudFor(host)
	if !isMultiTenant(seg) {
		t, ok := s.world.tenantAt(host, seg)
		if !ok {
			s.writeOAuthError(w, r, errUnknownTenant(seg))
			return
		}
		pathTenant, issuerTenant, region = t.ID, t.ID, &c.regionScope
	}
	base := "https://" + host + "/" + pathTenant
	doc := openIDConfiguration{
		TokenEndpoint:                     base + "/oauth2/v2.0/token",
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		JWKSURI:                           base + "/discovery/v2.0/keys",
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ResponseTypesSupported:            []string{"code", "id_token", "code id_token", "id_token token"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		Issuer:                            "https://" + host + "/" + issuerTenant + "/v2.0",
		UserinfoEndpoint:                  "https://" + c.msgraphHost + "/oidc/userinfo",
		AuthorizationEndpoint:             base + "/oauth2/v2.0/authorize",
		DeviceAuthorizationEndpoint:       base + "/oauth2/v2.0/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                base + "/oauth2/v2.0/logout",
		ClaimsSupported: []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
			"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver",
			"at_hash", "c_hash", "email"},
		KerberosEndpoint:   base + "/kerberos",
		TenantRegionScope:  region,
		CloudInstanceName:  c.instanceName,
		CloudGraphHostName: c.graphHost,
		MSGraphHost:        c.msgraphHost,
		RBACURL:            c.rbacURL,
	}
	if !v2 {
		// The v1 document: v1 endpoints and the v1 (sts) issuer of access tokens.
		doc.TokenEndpoint = base + "/oauth2/token"
		doc.JWKSURI = base + "/discovery/keys"
		doc.AuthorizationEndpoint = base + "/oauth2/authorize"
		doc.DeviceAuthorizationEndpoint = base + "/oauth2/devicecode"
		doc.EndSessionEndpoint = base + "/oauth2/logout"
		doc.Issuer = "https://" + c.stsHost + "/" + issuerTenant + "/"
	}
	writeDiscoveryJSON(w, doc)
}

// writeDiscoveryJSON sends a cacheable discovery document, with the recorded headers.
func writeDiscoveryJSON(w http.ResponseWriter, v any) {
	h := w.Header()
	h.Set("Cache-Control", "max-age=86400, private")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("x-ms-request-id", newGUID())
	_ = writeJSONBody(w, v)
}

// serveKeys answers the JWKS of the token-signing key.
func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request, host, seg string) {
	issuer := "https://" + host + "/{tenantid}/v2.0"
	if !isMultiTenant(seg) {
		t, ok := s.world.tenantAt(host, seg)
		if !ok {
			s.writeOAuthError(w, r, errUnknownTenant(seg))
			return
		}
		issuer = "https://" + host + "/" + t.ID + "/v2.0"
	}
	writeDiscoveryJSON(w, s.signer.jwks(issuer))
}

type instanceMetadata struct {
	PreferredNetwork string   `json:"preferred_network"`
	PreferredCache   string   `json:"preferred_cache"`
	Aliases          []string `json:"aliases"`
}

// serveInstanceDiscovery answers /common/discovery/instance with the recorded alias
// metadata. Like Entra ID, it refuses an authorization_endpoint on a host outside the
// known clouds with invalid_instance, which is what MSAL's authority validation needs.
func (s *Server) serveInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	ep, err := url.Parse(r.URL.Query().Get("authorization_endpoint"))
	if err != nil || ep.Scheme != "https" || !knownInstance(ep.Hostname()) {
		s.writeOAuthError(w, r, errInvalidInstance())
		return
	}
	tenant, _, _ := strings.Cut(strings.Trim(ep.Path, "/"), "/")
	if tenant == "" {
		tenant = commonTenant
	}
	meta := make([]instanceMetadata, len(knownClouds))
	for i, c := range knownClouds {
		meta[i] = instanceMetadata{c.preferredNetwork, c.preferredCache, c.aliases}
	}
	writeDiscoveryJSON(w, struct {
		TenantDiscoveryEndpoint string             `json:"tenant_discovery_endpoint"`
		APIVersion              string             `json:"api-version"`
		Metadata                []instanceMetadata `json:"metadata"`
	}{"https://" + ep.Host + "/" + tenant + "/v2.0/.well-known/openid-configuration", "1.1", meta})
}

// serveUserRealm answers /common/UserRealm/<user>, which MSAL's username/password
// flow calls first: every simulated tenant is "Managed" (no federation to AD FS).
func (s *Server) serveUserRealm(w http.ResponseWriter, host, user string) {
	user, _ = url.PathUnescape(user)
	_, domain, _ := strings.Cut(strings.ToLower(user), "@")
	c := cloudFor(host)
	for _, t := range s.world.tenantsAt(host) {
		if _, ok := t.user(user); ok || (domain != "" && domain == t.Domain) {
			writeDiscoveryJSON(w, map[string]string{"ver": "1.0", "account_type": "Managed", "domain_name": domain,
				"cloud_instance_name": c.instanceName, "cloud_audience_urn": "urn:federation:MicrosoftOnline"})
			return
		}
	}
	writeDiscoveryJSON(w, map[string]string{"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": c.instanceName})
}

// serveErrorPage is the target of error_uri.
func (s *Server) serveErrorPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	code := html.EscapeString(r.URL.Query().Get("code"))
	_, _ = w.Write([]byte("<!DOCTYPE html><html><head><title>AADSTS" + code + "</title></head><body><h1>Error AADSTS" + code +
		"</h1><p>Served by the d365-operator simulator of Microsoft Entra ID.</p></body></html>"))
}
