package simulator

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dataverse's documented service protection limit per user and web server: 6000
// requests per 300 s window. The simulator only reports it in headers; throttling
// itself is injected with faults.
const (
	requestLimit       = 6000
	requestLimitWindow = 300 * time.Second
)

var versionRE = regexp.MustCompile(`^v9\.[0-9]$`)

// serveDataverse routes the requests of an environment host. Any request under
// /api/data or to the SOAP endpoint without a usable bearer token gets the bearer
// challenge, whatever its path: that is how clients discover the authority.
func (s *Server) serveDataverse(w http.ResponseWriter, r *http.Request, env Environment) {
	if env.AdminService {
		s.serveAdminService(w, r, env)
		return
	}
	lp := strings.ToLower(r.URL.Path)
	soap := strings.HasPrefix(lp, "/xrmservices/2011/organization.svc/web")
	if !soap && lp != "/api/data" && !strings.HasPrefix(lp, "/api/data/") {
		http.NotFound(w, r)
		return
	}
	claims, reason := s.authenticate(r, env)
	if claims == nil {
		s.writeChallenge(w, env, reason)
		return
	}
	userID, ok := s.authorizeCaller(w, env, claims)
	if !ok {
		return
	}
	if soap {
		// The SOAP endpoint is only a discovery target here; the operator uses the Web API.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html><body>Organization Service (d365-simulator)</body></html>"))
		return
	}
	s.serveWebAPI(w, r, env, userID)
}

// serveAdminService answers for the Online Management API: authority discovery only; no
// Web API, no WhoAmI.
func (s *Server) serveAdminService(w http.ResponseWriter, r *http.Request, env Environment) {
	if strings.ToLower(r.URL.Path) == "/api/aad/challenge" {
		s.writeChallenge(w, env, "")
		return
	}
	writeSegmentNotFound(w, firstSegment(r.URL.Path))
}

// serveWebAPI answers an authorized caller's request under /api/data: the service
// document of a version, WhoAmI, or the health functions (webapi_functions.go). Every
// answer carries the service protection headers.
func (s *Server) serveWebAPI(w http.ResponseWriter, r *http.Request, env Environment, userID string) {
	s.setRateLimitHeaders(w, env, userID)
	rest := strings.Split(strings.Trim(r.URL.Path[len("/api/data"):], "/"), "/")
	if rest[0] == "" || !versionRE.MatchString(rest[0]) {
		writeSegmentNotFound(w, rest[0])
		return
	}
	version := rest[0]
	switch {
	case len(rest) == 1:
		s.writeODataJSON(w, map[string]any{
			"@odata.context": "https://" + env.Host + "/api/data/" + version + "/$metadata",
			"value": []map[string]string{
				{"name": "accounts", "kind": "EntitySet", "url": "accounts"},
				{"name": "contacts", "kind": "EntitySet", "url": "contacts"},
				{"name": "privileges", "kind": "EntitySet", "url": "privileges"},
				{"name": "systemusers", "kind": "EntitySet", "url": "systemusers"},
			},
		})
	case len(rest) == 2 && (strings.EqualFold(rest[1], "WhoAmI") || strings.EqualFold(rest[1], "WhoAmI()")):
		s.serveWhoAmI(w, r, env, userID, version)
	default:
		s.serveFunction(w, r, env, userID, version, rest[1:])
	}
}

// serveWhoAmI answers the WhoAmI function, which takes GET and HEAD only.
func (s *Server) serveWhoAmI(w http.ResponseWriter, r *http.Request, env Environment, userID, version string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "OPTIONS,GET,HEAD")
		writeODataError(w, http.StatusMethodNotAllowed, "0x80060888", "The requested resource does not support http method '"+r.Method+"'.")
		return
	}
	// Key order as Dataverse sends it (reference §4.2).
	s.writeODataJSON(w, struct {
		Context        string `json:"@odata.context"`
		BusinessUnitID string `json:"BusinessUnitId"`
		UserID         string `json:"UserId"`
		OrganizationID string `json:"OrganizationId"`
	}{"https://" + env.Host + "/api/data/" + version + "/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse", env.BusinessUnitID, userID, env.OrganizationID})
}

// writeSegmentNotFound sends Dataverse's 404 for a path segment it does not know.
func writeSegmentNotFound(w http.ResponseWriter, segment string) {
	writeODataError(w, http.StatusNotFound, "0x80060888", "Resource not found for the segment '"+segment+"'.")
}

func firstSegment(p string) string {
	seg, _, _ := strings.Cut(strings.Trim(p, "/"), "/")
	return seg
}

// writeChallenge sends 401 with the Dataverse bearer challenge: values unquoted,
// ", " separated, resource_id with a trailing slash, empty body (reference §1). A
// rejected token adds the observed 401_error_reason header.
func (s *Server) writeChallenge(w http.ResponseWriter, env Environment, reason string) {
	h := w.Header()
	h.Set("WWW-Authenticate", "Bearer authorization_uri=https://"+s.world.authorityHostOf(env.TenantID)+"/"+env.TenantID+"/oauth2/authorize, resource_id=https://"+env.Host+"/")
	if reason != "" {
		h["401_error_reason"] = []string{reason} // not canonicalized: the observed spelling
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

// dotnetTime formats times like the .NET messages of Dataverse's token validation.
func dotnetTime(t time.Time) string { return t.UTC().Format("1/2/2006 3:04:05 PM") }

// authenticate validates the bearer token like Dataverse: signature by the
// simulator's key, then lifetime (no clock skew, so tests that move a fake clock
// past exp see the rejection at once), audience (the environment origin, with or
// without trailing slash), issuer and tenant. It returns nil claims and the
// 401_error_reason on failure ("" when there was no token at all).
func (s *Server) authenticate(r *http.Request, env Environment) (*TokenClaims, string) {
	raw, ok := bearerToken(r)
	if !ok {
		return nil, ""
	}
	var c TokenClaims
	if err := s.signer.verify(raw, &c); err != nil {
		switch {
		case errors.Is(err, errUnknownKey):
			tok, _ := parseJWT(raw)
			return nil, fmt.Sprintf("IDX10516: Signature validation failed. Unable to match key: kid: '%s'.", tok.header.Kid)
		case strings.Contains(err.Error(), "segments"):
			return nil, "IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format."
		}
		return nil, "IDX10511: Signature validation failed. Keys tried: '[PII of type 'System.String' is hidden]'."
	}
	now := s.now()
	if exp := time.Unix(c.ExpiresAt, 0); !now.Before(exp) {
		return nil, fmt.Sprintf("IDX10223: Lifetime validation failed. The token is expired. ValidTo (UTC): '%s', Current time (UTC): '%s'.", dotnetTime(exp), dotnetTime(now))
	}
	if nbf := time.Unix(c.NotBefore, 0); now.Before(nbf) {
		return nil, fmt.Sprintf("IDX10222: Lifetime validation failed. The token is not yet valid. ValidFrom (UTC): '%s', Current time (UTC): '%s'.", dotnetTime(nbf), dotnetTime(now))
	}
	origin := "https://" + env.Host
	if !strings.EqualFold(strings.TrimSuffix(c.Audience, "/"), origin) {
		return nil, fmt.Sprintf("IDX10214: Audience validation failed. Audiences: '%s'. Did not match: validationParameters.ValidAudience: '%s' or validationParameters.ValidAudiences: 'null'.", c.Audience, origin)
	}
	wantIss := v1Issuer(s.world.authorityHostOf(env.TenantID), env.TenantID)
	if c.TenantID != env.TenantID || c.Issuer != wantIss {
		return nil, fmt.Sprintf("IDX10205: Issuer validation failed. Issuer: '%s'. Did not match: validationParameters.ValidIssuer: '%s' or validationParameters.ValidIssuers: 'null'.", c.Issuer, wantIss)
	}
	return &c, ""
}

// authorizeCaller maps the token to a system user of the environment and applies
// administration mode; on refusal it writes the 403 and returns false.
func (s *Server) authorizeCaller(w http.ResponseWriter, env Environment, c *TokenClaims) (string, bool) {
	userID, admin, found := "", false, false
	if c.IsApp() {
		for _, u := range env.ApplicationUsers {
			if strings.EqualFold(u.ClientID, c.AppID) {
				userID, admin, found = u.UserID, u.SystemAdministrator, true
			}
		}
	} else {
		for _, u := range env.Users {
			if strings.EqualFold(u.ObjectID, c.ObjectID) {
				userID, admin, found = u.UserID, u.SystemAdministrator, true
			}
		}
	}
	if !found {
		writeODataError(w, http.StatusForbidden, "0x80072560", "The user is not a member of the organization.")
		return "", false
	}
	if env.AdminMode && !admin {
		writeODataError(w, env.AdminModeStatus, env.AdminModeErrorCode, "User does not have required privileges (or role membership) to access the org when it is in Admin Only mode.")
		return "", false
	}
	return userID, true
}

// setRateLimitHeaders sets the service protection headers of an authenticated answer:
// the environment's configured values, or the caller's requests counted in the window.
func (s *Server) setRateLimitHeaders(w http.ResponseWriter, env Environment, userID string) {
	burst := env.RateLimit.BurstRemaining
	if burst == "" {
		burst = strconv.Itoa(s.rate.remaining(env.Host+"|"+userID, s.now()))
	}
	h := w.Header()
	h.Set("x-ms-dop-hint", "48")
	h.Set("x-ms-ratelimit-time-remaining-xrm-requests", env.RateLimit.TimeRemaining)
	h.Set("x-ms-ratelimit-burst-remaining-xrm-requests", burst)
}

// writeODataJSON sends a successful Web API response with Dataverse's headers.
func (s *Server) writeODataJSON(w http.ResponseWriter, body any) {
	h := w.Header()
	reqID := newGUID()
	h.Set("Cache-Control", "no-cache")
	h.Set("Allow", "OPTIONS,GET,HEAD,POST")
	h.Set("Content-Type", "application/json; odata.metadata=minimal")
	h.Set("Expires", "-1")
	h.Set("x-ms-service-request-id", reqID)
	h["REQ_ID"] = []string{reqID}
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	h.Set("OData-Version", "4.0")
	_ = writeJSONBody(w, body)
}

// writeODataError sends {"error":{"code":…,"message":…}}.
func writeODataError(w http.ResponseWriter, status int, code, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; odata.metadata=minimal")
	h.Set("OData-Version", "4.0")
	w.WriteHeader(status)
	_ = writeJSONBody(w, map[string]map[string]string{"error": {"code": code, "message": message}})
}

// writeDataverseFault is the default body of an injected fault on an environment.
func (s *Server) writeDataverseFault(w http.ResponseWriter, env Environment, status int) {
	switch {
	case status == http.StatusUnauthorized:
		s.writeChallenge(w, env, "")
	case status == http.StatusTooManyRequests:
		writeODataError(w, status, "0x80072322", fmt.Sprintf("Number of requests exceeded the limit of %d over time window of %d seconds.", requestLimit, int(requestLimitWindow.Seconds())))
	case status == http.StatusForbidden:
		writeODataError(w, status, "0x80072560", "The user is not a member of the organization.")
	case status == http.StatusNotFound:
		writeODataError(w, status, "0x80060888", "Resource not found.")
	case status >= 500:
		writeODataError(w, status, "0x80040216", "An unexpected error occurred.")
	default:
		writeODataError(w, status, "0x0", http.StatusText(status))
	}
}

// rateWindows counts requests per (environment, user) in fixed windows, for the
// x-ms-ratelimit-burst-remaining-xrm-requests header.
type rateWindows struct {
	mu sync.Mutex
	m  map[string]*rateWindow
}

type rateWindow struct {
	start time.Time
	n     int
}

func (rw *rateWindows) remaining(key string, now time.Time) int {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.m == nil {
		rw.m = map[string]*rateWindow{}
	}
	win := rw.m[key]
	if win == nil || now.Sub(win.start) >= requestLimitWindow || now.Before(win.start) {
		win = &rateWindow{start: now}
		rw.m[key] = win
	}
	win.n++
	return max(requestLimit-win.n, 0)
}
