package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// oauthError is an Entra ID error response. Messages are the current wording from
// the protocol reference's catalogue (§2.6) where one is known.
type oauthError struct {
	status   int
	code     string // the RFC 6749 error string
	aadsts   int
	message  string // without the "AADSTSnnnn: " prefix
	suberror string
	claims   string
}

// entraErrorBody has Entra ID's field order; error_codes are JSON numbers (MSAL Go
// decodes them as []int).
type entraErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
	Suberror         string `json:"suberror,omitempty"`
	Claims           string `json:"claims,omitempty"`
}

// entraHeaders sets the headers Entra ID sends on every token-endpoint response,
// success or error (recorded, protocol reference §2.3). x-ms-request-id is the
// trace id.
func entraHeaders(w http.ResponseWriter, traceID string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("P3P", `CP="DSP CUR OTPi IND OTRi ONL FIN"`)
	h.Set("x-ms-ests-server", "2.1.0 - d365-simulator")
	h.Set("x-ms-request-id", traceID)
}

// correlationID echoes the client's client-request-id (MSAL sends one per request),
// as Entra ID does, or makes a new one.
func correlationID(r *http.Request) string {
	if id := r.Header.Get("client-request-id"); guidRE.MatchString(id) {
		return id
	}
	return newGUID()
}

// writeOAuthError writes e in Entra ID's JSON format.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	trace, corr := newGUID(), correlationID(r)
	ts := s.now().UTC().Format("2006-01-02 15:04:05Z")
	body := entraErrorBody{
		Error: e.code,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			e.aadsts, e.message, trace, corr, ts),
		ErrorCodes:    []int{e.aadsts},
		Timestamp:     ts,
		TraceID:       trace,
		CorrelationID: corr,
		ErrorURI:      "https://" + hostOf(r) + "/error?code=" + strconv.Itoa(e.aadsts),
		Suberror:      e.suberror,
		Claims:        e.claims,
	}
	entraHeaders(w, trace)
	w.WriteHeader(e.status)
	_ = writeJSONBody(w, body)
}

// writeJSONBody encodes v without HTML escaping (Entra ID and Dataverse send "&"
// and "<" literally) and without a trailing newline.
func writeJSONBody(w http.ResponseWriter, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
	return err
}

// The error catalogue. Codes and statuses follow the protocol reference; the ones it
// marks unconfirmed are noted.

func errUnknownTenant(seg string) *oauthError {
	return &oauthError{400, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", seg), "", ""}
}

func errNoTenantInfo() *oauthError {
	return &oauthError{400, "invalid_request", 50059, "No tenant-identifying information found in either the request or implied by any provided credentials.", "", ""}
}

func errMissingParam(name string) *oauthError {
	return &oauthError{400, "invalid_request", 900144, fmt.Sprintf("The request body must contain the following parameter: '%s'.", name), "", ""}
}

func errPostOnly(method string) *oauthError {
	return &oauthError{400, "invalid_request", 900561, fmt.Sprintf("The endpoint only accepts POST, OPTIONS requests. Received a %s request.", method), "", ""}
}

func errUnsupportedGrant(g string) *oauthError {
	return &oauthError{400, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", g), "", ""}
}

func errResourceOnV2() *oauthError {
	return &oauthError{400, "invalid_request", 901002, "The 'resource' request parameter isn't supported.", "", ""}
}

func errUnknownApp(clientID, tenantName string) *oauthError {
	return &oauthError{400, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenantName), "", ""}
}

func errInvalidSecret(clientID string) *oauthError {
	return &oauthError{401, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID), "", ""}
}

func errExpiredSecret(clientID string) *oauthError {
	return &oauthError{401, "invalid_client", 7000222, fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", clientID), "", ""}
}

func errNoClientAuth() *oauthError {
	return &oauthError{401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", "", ""}
}

func errResourceNotFound(resource, tenantName string) *oauthError {
	return &oauthError{400, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", resource, tenantName), "", ""}
}

func errScopeNeedsDefault(scope string) *oauthError {
	return &oauthError{400, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope), "", ""}
}

func errInvalidScope(scope string) *oauthError {
	return &oauthError{400, "invalid_scope", 70011, fmt.Sprintf("The provided value for the input parameter 'scope' isn't valid. The scope %s isn't valid.", scope), "", ""}
}

// errMultipleResources: status and error string are unconfirmed (reference §2.6).
func errMultipleResources(scope string) *oauthError {
	return &oauthError{400, "invalid_scope", 700022, fmt.Sprintf("The provided value for the input parameter scope isn't valid because it contains more than one resource. Scope %s isn't valid.", scope), "", ""}
}

func errInvalidGrant(aadsts int, msg string) *oauthError {
	return &oauthError{400, "invalid_grant", aadsts, msg, "", ""}
}

func errInvalidClient(aadsts int, msg string) *oauthError {
	return &oauthError{401, "invalid_client", aadsts, msg, "", ""}
}

func errInvalidInstance() *oauthError {
	return &oauthError{400, "invalid_instance", 50049, "Unknown or invalid instance.", "", ""}
}
