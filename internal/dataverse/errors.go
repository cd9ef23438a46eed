package dataverse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/d365-operator/d365-operator/internal/printable"

	"github.com/d365-operator/d365-operator/internal/transport"
)

// Error is a failed Dataverse call, classified by Op and Kind.
type Error struct {
	// Op is the call that failed.
	Op Op
	// Kind says what went wrong; the caller decides what it means for a retry.
	Kind Kind
	// StatusCode is the HTTP status, or 0 when no answer arrived.
	StatusCode int
	// Code is the OData error code, e.g. "0x80072560".
	Code string
	// Message is an actionable sentence for a condition message; it never holds a token.
	Message string
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
	// Limit is the service protection limit a Throttled call hit.
	Limit Limit
	// Privilege is the privilege a PrivilegeDenied answer names ("prvReadUser"), if any.
	Privilege string

	cause error // a network or context error, for errors.Is
}

// Error returns the kind and the message.
func (e *Error) Error() string {
	return string(e.Kind) + ": " + e.Message
}

// Unwrap returns the network or context error behind an Unavailable error, if any.
func (e *Error) Unwrap() error {
	return e.cause
}

// OData error codes the operator recognises.
const (
	codeUserNotMember      = "0x80072560" // the app is not an application user of the environment
	codeRequestsLimit      = "0x80072322"
	codeExecutionTimeLimit = "0x80072321"
	codeConcurrencyLimit   = "0x80072326"
	codePrivilegeDenied    = "0x80040220" // "Principal user (…) is missing prvX privilege"
)

// missingPrivilegeRE finds the privilege a privilege-denied message names.
var missingPrivilegeRE = regexp.MustCompile(`(?i)missing (prv[A-Za-z0-9_]+) privilege`)

// throttleLimits names the service-protection limit behind each 429 code.
var throttleLimits = map[string]string{
	codeRequestsLimit:      "the number of requests per 5 minutes",
	codeExecutionTimeLimit: "the combined execution time per 5 minutes",
	codeConcurrencyLimit:   "the number of concurrent requests",
}

// odataError is {"error":{"code":"0x…","message":"…"}}.
type odataError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// parseODataError reads an OData error body; both fields are empty when it is not one.
func parseODataError(body []byte) (code, message string) {
	var oe odataError
	if json.Unmarshal(body, &oe) != nil {
		return "", ""
	}
	return printable.Line(oe.Error.Code, 20), printable.Line(oe.Error.Message, 300)
}

// networkError reports that host could not be reached (or the request was cancelled).
func networkError(op Op, host string, err error) *Error {
	why := err.Error()
	if ue, ok := errors.AsType[*url.Error](err); ok {
		why = ue.Err.Error() // without the URL, which the message names already
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		why = "the request timed out or was cancelled"
	}
	return &Error{
		Op:      op,
		Kind:    Unavailable,
		Message: fmt.Sprintf("Could not reach %s: %s", host, printable.Line(why, 200)),
		cause:   err,
	}
}

// transientError classifies throttling (429, or 503 with Retry-After) and outages (5xx);
// it returns nil for other answers.
func (c *Client) transientError(op Op, resp *http.Response, body []byte) *Error {
	retryAfter, hasRetryAfter := transport.ParseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
	code, msg := parseODataError(body)
	host := resp.Request.URL.Host
	switch {
	case resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode == http.StatusServiceUnavailable && hasRetryAfter):
		limit := throttleLimits[code]
		if limit == "" {
			limit = "a service protection limit"
		}
		text := fmt.Sprintf("%s throttled the operator (HTTP %d): %s was exceeded", host, resp.StatusCode, limit)
		if code != "" {
			text += fmt.Sprintf(" (%s: %s)", code, msg)
		}
		if hasRetryAfter {
			text += fmt.Sprintf("; retrying after %s", retryAfter)
		}
		return &Error{Op: op, Kind: Throttled, StatusCode: resp.StatusCode, Code: code, Message: text, RetryAfter: retryAfter, Limit: limitOf(code)}
	case resp.StatusCode >= 500:
		text := fmt.Sprintf("%s is unavailable (HTTP %d)", host, resp.StatusCode)
		if msg != "" {
			text += ": " + msg
		}
		return &Error{Op: op, Kind: Unavailable, StatusCode: resp.StatusCode, Code: code, Message: text, RetryAfter: retryAfter}
	}
	return nil
}

// callError classifies an authenticated call's answer other than 200.
func (c *Client) callError(op Op, resp *http.Response, body []byte) *Error {
	if e := c.transientError(op, resp, body); e != nil {
		return e
	}
	code, msg := parseODataError(body)
	host := resp.Request.URL.Host
	e := &Error{Op: op, StatusCode: resp.StatusCode, Code: code}
	switch {
	case isAdminMode(msg):
		e.Kind = AdminMode
		e.Message = fmt.Sprintf("%s is in administration mode and admits only administrators (%s); it recovers when an admin turns administration mode off, or give the application user the System Administrator role", host, quote(code, msg))
	case resp.StatusCode == http.StatusUnauthorized:
		e.Kind = TokenRejected
		why := printable.Line(resp.Header.Get("401_error_reason"), 300)
		if why == "" {
			why = msg
		}
		e.Message = fmt.Sprintf("%s rejected the access token (HTTP 401)", host)
		if why != "" {
			e.Message += ": " + why
		}
		e.Message += "; a new token is requested on the next attempt"
	case resp.StatusCode == http.StatusForbidden && strings.EqualFold(code, codeUserNotMember):
		e.Kind = ApplicationUserNotFound
		e.Message = fmt.Sprintf("%s does not know this application (%s): add the app to the environment as an application user with a security role, in the Power Platform admin center (Environments > Settings > Users + permissions > Application users)", host, quote(code, msg))
	case resp.StatusCode == http.StatusForbidden && strings.EqualFold(code, codePrivilegeDenied):
		e.Kind = PrivilegeDenied
		if m := missingPrivilegeRE.FindStringSubmatch(msg); m != nil {
			e.Privilege = m[1]
		}
		e.Message = fmt.Sprintf("%s refused %s: the application user lacks a privilege (%s); assign it a security role with that privilege, in the Power Platform admin center (Environments > Settings > Users + permissions > Application users > Manage roles)", host, op.function(), quote(code, msg))
	case resp.StatusCode == http.StatusForbidden:
		e.Kind = AccessDenied
		e.Message = fmt.Sprintf("%s denied the application access (HTTP 403, %s): check the application user's security roles and the environment's security group and API allow-list", host, quote(code, msg))
	default:
		e.Kind = UnexpectedAnswer
		e.Message = fmt.Sprintf("%s answered %s with HTTP %d", host, op.function(), resp.StatusCode)
		if code != "" || msg != "" {
			e.Message += " (" + quote(code, msg) + ")"
		}
	}
	return e
}

// isAdminMode recognises the administration-mode refusal by its documented message; its
// status and code are not documented.
func isAdminMode(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "admin only mode") || strings.Contains(m, "administration mode")
}

// quote renders an OData code and message as "0x…: message".
func quote(code, msg string) string {
	switch {
	case code == "":
		if msg == "" {
			return "no error details"
		}
		return msg
	case msg == "":
		return code
	}
	return code + ": " + msg
}
