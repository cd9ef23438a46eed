package dataverse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzToken stands in for the access token WhoAmI sends; no message may contain it.
const fuzzToken = "eyJ0eXAiOiJKV1QifQ.fuzz-access-token-never-printed.c2lnbmF0dXJl" //nolint:gosec // a fake

// roundTripper answers every request with the response it builds.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzWhoAmIResponse feeds WhoAmI any status, body and headers an environment could answer:
// no panic, success only with a user id, and failures are *Error values whose message is one
// printable line without the access token (unless the server itself echoed it).
// Run with: go test -run='^$' -fuzz='^FuzzWhoAmIResponse$' ./internal/dataverse/
func FuzzWhoAmIResponse(f *testing.F) {
	for _, s := range []struct {
		status            int
		body, reason, ret string
	}{
		{200, `{"@odata.context":"x","BusinessUnitId":"b","UserId":"u","OrganizationId":"o"}`, "", ""},
		{200, `{"UserId":""}`, "", ""},
		{200, `not json`, "", ""},
		{401, ``, "The user is not a member of the organization.", ""},
		{401, `{"error":{"code":"0x80072560","message":"token expired\r\nline two"}}`, "", ""},
		{403, `{"error":{"code":"0x80072560","message":"The user is not a member of the organization."}}`, "", ""},
		{403, `{"error":{"code":"0x80040225","message":"Admin only mode is on"}}`, "", ""},
		{429, `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit"}}`, "", "30"},
		{503, `{"error":{"code":"","message":"down"}}`, "", "Sat, 01 Mar 2025 12:00:30 GMT"},
		{500, "\x00\x1b[31m{\"error\":", "", "-5"},
		{302, ``, "", ""},
	} {
		f.Add(s.status, []byte(s.body), s.reason, s.ret)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, reason, retryAfter string) {
		if status < 100 || status > 999 {
			status = 100 + (status%900+900)%900
		}
		hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			h := http.Header{}
			h.Set("401_error_reason", reason)
			h.Set("Retry-After", retryAfter)
			return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
		})}
		id, err := NewClient(hc).WhoAmI(context.Background(), "https://contoso.crm.dynamics.com", fuzzToken)
		if err == nil {
			if status != http.StatusOK || id.UserID == "" {
				t.Fatalf("WhoAmI succeeded with HTTP %d and user %q", status, id.UserID)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("WhoAmI failed with %T, not *Error: %v", err, err)
		}
		assertOneLine(t, e.Message)
		echoed := bytes.Contains(body, []byte(fuzzToken)) || strings.Contains(reason, fuzzToken)
		if !echoed && strings.Contains(e.Message, fuzzToken) {
			t.Fatalf("the message holds the access token: %q", e.Message)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative RetryAfter %v", e.RetryAfter)
		}
	})
}

// FuzzODataError checks that any body gives a short, printable code and message (at most
// 20 and 300 runes, plus the "…" that marks a cut).
// Run with: go test -run='^$' -fuzz='^FuzzODataError$' ./internal/dataverse/
func FuzzODataError(f *testing.F) {
	for _, seed := range []string{
		`{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`,
		`{"error":{"code":"0x80040220","message":"Principal user is missing prvReadSystemUser privilege.\n\tat Stack"}}`,
		`{"error":{"code":123,"message":null}}`, `{"error":"x"}`, `[]`, `null`, ``, "{\"error\":{\"message\":\"\u202e\u0000\x7f\"}}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, msg := parseODataError(body)
		if n := utf8.RuneCountInString(code); n > 21 {
			t.Fatalf("code of %d runes: %q", n, code)
		}
		if n := utf8.RuneCountInString(msg); n > 301 {
			t.Fatalf("message of %d runes: %q", n, msg)
		}
		assertOneLine(t, code)
		assertOneLine(t, msg)
	})
}

// assertOneLine fails when s could break a condition message or a log line.
func assertOneLine(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("not UTF-8: %q", s)
	}
	for _, r := range s {
		if r == '\n' || r == '\r' || r < 0x20 || r == 0x7f {
			t.Fatalf("control character %U in %q", r, s)
		}
	}
}
