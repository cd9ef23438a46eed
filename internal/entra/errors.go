package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/d365-operator/d365-operator/internal/printable"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// Error is a failed token request, classified by Kind.
type Error struct {
	// Kind says what went wrong; the caller decides what it means for a retry.
	Kind Kind
	// AADSTS is the first of Entra ID's error_codes, or 0.
	AADSTS int
	// ErrorCode is the OAuth "error" field, e.g. "invalid_client".
	ErrorCode string
	// StatusCode is the HTTP status, or 0 when no answer arrived.
	StatusCode int
	// Message is an actionable sentence quoting the AADSTS code; it never holds a secret or token.
	Message string
	// RetryAfter is Entra ID's Retry-After, when it sent one.
	RetryAfter time.Duration

	cause error // a network or context error, or a credential source's error
}

// Error returns the kind and the message.
func (e *Error) Error() string {
	return string(e.Kind) + ": " + e.Message
}

// Unwrap returns the network or context error behind an Unavailable error, or the error a
// credential source (an AssertionFunc) returned, if any.
func (e *Error) Unwrap() error {
	return e.cause
}

// classify turns an MSAL error into a *trust.Error (the guard refused a host) or an *Error;
// now measures an HTTP-date Retry-After.
// MSAL's own error text embeds the request URL and the response body, so it is never copied:
// messages are built from the parsed fields only, and every credential secret is redacted.
func classify(err error, id Identity, tenant string, now time.Time) error {
	if te, ok := errors.AsType[*trust.Error](err); ok {
		return te
	}
	// Credentials report their own failures (an unusable token cache, a failed federated
	// token source) as *Error already, possibly through MSAL's wrapping.
	if own, ok := errors.AsType[*Error](err); ok {
		own.Message = redact(own.Message, id.Credential)
		return own
	}
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil {
		return classifyResponse(ce, id, tenant, now)
	}
	e := &Error{Kind: RequestFailed}
	var ue *url.Error
	var ne net.Error
	var je msalerrors.InvalidJsonErr
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		e.Kind, e.cause = Unavailable, err
		e.Message = "The token request to Entra ID timed out or was cancelled"
	case errors.Is(err, transport.ErrBodyTooLarge):
		e.Message = "Entra ID's answer was larger than " + strconv.Itoa(transport.MaxResponseBytes) + " bytes"
	case errors.As(err, &je):
		// MSAL appends the raw answer, which for a token response holds the access token:
		// only the first line, the decoder's complaint, is kept.
		e.Message = "Entra ID's answer could not be read: " + printable.Line(firstLine(je.Err.Error()), 200)
	case errors.As(err, &ue):
		e.Kind, e.cause = Unavailable, err
		host := ue.URL // named without its path and query
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
		e.Message = fmt.Sprintf("Could not reach Entra ID at %s: %s", host, printable.Line(ue.Err.Error(), 200))
	case errors.As(err, &ne):
		e.Kind, e.cause = Unavailable, err
		e.Message = "Could not reach Entra ID: " + printable.Line(ne.Error(), 200)
	default:
		// MSAL's local failures (an issuer that does not match the authority, a token answer
		// it cannot read) carry no response body; they are still cleaned and redacted.
		e.Message = "The token request failed: " + printable.Line(firstLine(err.Error()), 300)
	}
	e.Message = redact(e.Message, id.Credential)
	return e
}

// firstLine returns s up to its first line break: MSAL puts bodies after one.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// aadError is Entra ID's error body.
type aadError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []any  `json:"error_codes"` // numbers, but a lenient reader costs nothing
}

// classifyResponse classifies an HTTP answer other than 200/201 from the OpenID
// configuration GET or the token POST.
func classifyResponse(ce msalerrors.CallErr, id Identity, tenant string, now time.Time) *Error {
	resp := ce.Resp
	body, _ := transport.ReadBody(resp.Body)
	var ae aadError
	isJSON := json.Unmarshal(body, &ae) == nil
	retryAfter, hasRetryAfter := transport.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
	e := &Error{
		StatusCode: resp.StatusCode,
		ErrorCode:  printable.Line(ae.Error, 60),
		AADSTS:     firstCode(ae),
		RetryAfter: retryAfter,
	}
	e.Kind = kindFor(e, hasRetryAfter)
	advice := ""
	if x, ok := id.Credential.(explainer); ok {
		advice = x.explain(e, id)
	}
	if advice == "" {
		advice = adviceFor(e, id, tenant)
	}

	var b strings.Builder
	switch {
	case e.AADSTS != 0:
		fmt.Fprintf(&b, "Entra ID answered AADSTS%d (%s, HTTP %d)", e.AADSTS, orDash(e.ErrorCode), e.StatusCode)
	case e.ErrorCode != "":
		fmt.Fprintf(&b, "Entra ID answered %s (HTTP %d)", e.ErrorCode, e.StatusCode)
	default:
		fmt.Fprintf(&b, "Entra ID answered HTTP %d", e.StatusCode)
		if !isJSON && len(body) > 0 && len(body) < 100 {
			fmt.Fprintf(&b, " (%s)", printable.Line(string(body), 60)) // e.g. the plain "Too Many Requests"
		}
	}
	if ce.Req != nil && ce.Req.Method == http.MethodGet {
		fmt.Fprintf(&b, " to the OpenID configuration request of tenant %s", tenant)
	}
	if s := firstSentence(ae.Description); s != "" {
		b.WriteString(": " + s)
	}
	if !strings.HasSuffix(b.String(), ".") {
		b.WriteString(".")
	}
	if advice != "" {
		b.WriteString(" " + advice)
	}
	e.Message = redact(b.String(), id.Credential)
	return e
}

// firstCode returns the first error code, from error_codes or else the description's prefix.
func firstCode(ae aadError) int {
	if len(ae.Codes) > 0 {
		switch c := ae.Codes[0].(type) {
		case float64:
			return int(c)
		case string:
			if n, err := strconv.Atoi(c); err == nil {
				return n
			}
		}
	}
	if m := aadstsPrefix.FindStringSubmatch(ae.Description); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

var aadstsPrefix = regexp.MustCompile(`^\s*AADSTS(\d+)\s*:?\s*`)

// firstSentence returns error_description's first sentence without the "AADSTSnnnn:" prefix
// and without the trace, correlation and timestamp tail.
func firstSentence(desc string) string {
	if i := strings.Index(desc, "Trace ID"); i >= 0 {
		desc = desc[:i]
	}
	if m := aadstsPrefix.FindStringIndex(desc); m != nil {
		desc = desc[m[1]:]
	}
	desc = printable.Line(desc, 1000)
	if i := strings.Index(desc, ". "); i >= 0 {
		desc = desc[:i+1]
	}
	return printable.Line(desc, 300)
}

// redact replaces every secret of cred in s; Entra ID does not echo secrets, but a message
// is the one place a leak would be published, so this is cheap insurance.
func redact(s string, cred Credential) string {
	if cred == nil {
		return s
	}
	for _, secret := range cred.secrets() {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
