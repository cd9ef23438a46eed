package simulator

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// jwtBearerAssertionType is the client_assertion_type of JWT client assertions.
const jwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" //nolint:gosec // a type URN, not a credential

// tokenRequest is one parsed token-endpoint request, shared by the grant handlers.
type tokenRequest struct {
	r    *http.Request
	host string
	v1   bool   // /oauth2/token (resource=) rather than /oauth2/v2.0/token (scope=)
	seg  string // the tenant path segment as sent
	// tenant is the addressed tenant; zero ID for /common and /organizations until a
	// grant resolves it from its user or stored grant.
	tenant   Tenant
	form     url.Values
	clientID string
	// resource is the origin of the requested resource without trailing slash: the
	// aud of the token. resourceEcho is the v1 resource parameter as sent.
	resource, resourceEcho string
}

// grantHandler serves one grant type. Each grant is one function so that new ones
// slot in without touching the others.
type grantHandler func(s *Server, tr *tokenRequest) (*tokenResult, *oauthError)

var grantHandlers = map[string]grantHandler{
	"client_credentials": (*Server).grantClientCredentials,
	"password":           (*Server).grantPassword,
	"refresh_token":      (*Server).grantRefreshToken,
	"authorization_code": (*Server).grantAuthorizationCode,
	"device_code":        (*Server).grantDeviceCode, // what MSAL Go sends
	"urn:ietf:params:oauth:grant-type:device_code": (*Server).grantDeviceCode,
}

// serveToken answers POST /{tenant}/oauth2/v2.0/token and (v1) /{tenant}/oauth2/token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, host, seg string, v1 bool) {
	res, oerr := s.token(r, host, seg, v1)
	if oerr != nil {
		s.writeOAuthError(w, r, oerr)
		return
	}
	s.writeTokenResponse(w, res, v1)
}

func (s *Server) token(r *http.Request, host, seg string, v1 bool) (*tokenResult, *oauthError) {
	if r.Method != http.MethodPost {
		return nil, errPostOnly(r.Method)
	}
	tr := &tokenRequest{r: r, host: host, v1: v1, seg: seg, form: r.PostForm}
	if tr.form == nil {
		tr.form = url.Values{} // not a form post: every parameter is missing
	}
	if !isMultiTenant(seg) {
		t, ok := s.world.tenantAt(host, seg)
		if !ok {
			return nil, errUnknownTenant(seg)
		}
		tr.tenant = t
	}
	grant := tr.form.Get("grant_type")
	if grant == "" {
		return nil, errMissingParam("grant_type")
	}
	handler, ok := grantHandlers[grant]
	if !ok {
		return nil, errUnsupportedGrant(grant)
	}
	tr.clientID = strings.ToLower(tr.form.Get("client_id"))
	if user, _, ok := r.BasicAuth(); ok && tr.clientID == "" {
		tr.clientID, _ = url.QueryUnescape(user)
		tr.clientID = strings.ToLower(tr.clientID)
	}
	if tr.clientID == "" {
		return nil, errMissingParam("client_id")
	}
	return handler(s, tr)
}

// requireTenant fails requests to /common or /organizations that nothing in the
// request ties to a tenant (client credentials need a tenant-specific authority).
func (tr *tokenRequest) requireTenant() *oauthError {
	if tr.tenant.ID == "" {
		return errNoTenantInfo()
	}
	return nil
}

// app returns the requesting app registration of the resolved tenant.
func (tr *tokenRequest) app() (App, *oauthError) {
	a, ok := tr.tenant.app(tr.clientID)
	if !ok {
		return App{}, errUnknownApp(tr.clientID, tr.tenant.DisplayName)
	}
	return a, nil
}

// oidcScopes are the scopes MSAL adds to every request; they name no resource.
var oidcScopes = map[string]bool{"openid": true, "offline_access": true, "profile": true, "email": true}

// parseResource reads and checks the requested resource: v1 resource=, or v2 scope=
// with one resource. appOnly requires <resource>/.default (client credentials);
// delegated flows also accept user_impersonation, Dataverse's delegated permission,
// with ServiceClient's double slash ("https://org.crm.dynamics.com//user_impersonation").
func (s *Server) parseResource(tr *tokenRequest, appOnly bool) *oauthError {
	tenantName := tr.tenant.DisplayName
	if tenantName == "" {
		tenantName = tr.seg
	}
	var res string
	if tr.v1 {
		res = tr.form.Get("resource")
		if res == "" {
			return errMissingParam("resource")
		}
		tr.resourceEcho = res
	} else {
		if tr.form.Has("resource") {
			return errResourceOnV2()
		}
		scope := tr.form.Get("scope")
		for sc := range strings.FieldsSeq(scope) {
			if oidcScopes[strings.ToLower(sc)] {
				continue
			}
			i := strings.LastIndex(sc, "/")
			perm := sc[i+1:]
			if appOnly && (i <= 0 || perm != ".default") {
				return errScopeNeedsDefault(sc)
			}
			if i <= 0 || (perm != ".default" && !strings.EqualFold(perm, "user_impersonation")) {
				return errInvalidScope(sc)
			}
			r := strings.TrimRight(sc[:i], "/")
			if res != "" && !strings.EqualFold(res, r) {
				return errMultipleResources(scope)
			}
			res = r
		}
		if res == "" {
			if appOnly {
				return errMissingParam("scope")
			}
			return errInvalidScope(scope)
		}
	}
	origin, ok := resourceOrigin(res)
	if !ok || !s.knownResource(tr.host, origin) {
		return errResourceNotFound(strings.TrimRight(res, "/"), tenantName)
	}
	tr.resource = origin
	return nil
}

// resourceOrigin turns a resource identifier into "https://host", or fails if it is
// not an https URL with at most a "/" path.
func resourceOrigin(res string) (string, bool) {
	u, err := url.Parse(strings.TrimRight(res, "/"))
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return "", false
	}
	return "https://" + strings.ToLower(u.Host), true
}

// knownResource reports whether a resource principal exists in the authority's
// cloud: any configured environment (of any tenant: Dataverse's service principal
// exists in every tenant, and Dataverse itself rejects tokens of the wrong tenant)
// whose tenant lives in the same cloud.
func (s *Server) knownResource(authorityHost, origin string) bool {
	env, ok := s.world.environment(strings.TrimPrefix(origin, "https://"))
	return ok && sameCloud(authorityHost, s.world.authorityHostOf(env.TenantID))
}

// authenticateClient checks the client's credential and returns the appidacr claim
// value. publicOK allows no credential at all for apps that allow public client
// flows; confidential client credentials always need one.
func (s *Server) authenticateClient(tr *tokenRequest, app App, publicOK bool) (string, *oauthError) {
	secret := tr.form.Get("client_secret")
	if _, pw, ok := tr.r.BasicAuth(); ok && secret == "" {
		secret, _ = url.QueryUnescape(pw) // RFC 6749 §2.3.1: form-encoded
	}
	if assertion := tr.form.Get("client_assertion"); assertion != "" {
		if tr.form.Get("client_assertion_type") != jwtBearerAssertionType {
			return "", errMissingParam("client_assertion_type")
		}
		if oerr := s.verifyClientAssertion(tr, app, assertion); oerr != nil {
			return "", oerr
		}
		return "2", nil
	}
	if secret != "" {
		return "1", s.checkSecret(app, secret)
	}
	if publicOK && app.AllowPublicClient {
		return "0", nil
	}
	return "", errNoClientAuth()
}

// checkSecret compares in constant time: an expired secret that matches gives
// AADSTS7000222, no match AADSTS7000215.
func (s *Server) checkSecret(app App, secret string) *oauthError {
	now := s.now()
	for _, sec := range app.Secrets {
		if subtle.ConstantTimeCompare([]byte(sec.Value), []byte(secret)) == 1 {
			if !sec.ExpiresAt.IsZero() && !now.Before(sec.ExpiresAt) {
				return errExpiredSecret(app.ClientID)
			}
			return nil
		}
	}
	return errInvalidSecret(app.ClientID)
}

// tokenResult is a successful grant, ready to be written.
type tokenResult struct {
	access       issued
	resource     string // v1: the resource parameter as sent, echoed back
	scope        string // delegated flows: the granted scopes
	refreshToken string
	idToken      string
	clientInfo   string
}

// v2TokenResponse: numbers are JSON numbers; app-only responses carry exactly
// token_type, expires_in, ext_expires_in, access_token (recorded, reference §2.3).
type v2TokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	RefreshIn    int64  `json:"refresh_in,omitempty"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// v1TokenResponse: numbers are JSON strings, in the observed field order (§2.2).
type v1TokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

func (s *Server) writeTokenResponse(w http.ResponseWriter, res *tokenResult, v1 bool) {
	entraHeaders(w, newGUID())
	secs := int64(res.access.lifetime.Seconds())
	if !v1 {
		_ = writeJSONBody(w, v2TokenResponse{
			TokenType: "Bearer", Scope: res.scope, ExpiresIn: secs, ExtExpiresIn: secs,
			RefreshIn: int64(res.access.refreshIn.Seconds()), AccessToken: res.access.token,
			RefreshToken: res.refreshToken, IDToken: res.idToken, ClientInfo: res.clientInfo,
		})
		return
	}
	_ = writeJSONBody(w, v1TokenResponse{
		TokenType: "Bearer", Scope: res.scope,
		ExpiresIn: strconv.FormatInt(secs, 10), ExtExpiresIn: strconv.FormatInt(secs, 10),
		ExpiresOn: strconv.FormatInt(res.access.expiresAt.Unix(), 10),
		NotBefore: strconv.FormatInt(res.access.issuedAt.Add(-issueBackdate).Unix(), 10),
		Resource:  res.resource, AccessToken: res.access.token,
		RefreshToken: res.refreshToken, IDToken: res.idToken,
	})
}
