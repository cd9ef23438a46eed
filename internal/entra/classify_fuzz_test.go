package entra

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// FuzzClassify feeds the classification of Entra ID's answers (token POST or OpenID
// configuration GET) any status, body and Retry-After: no panic, a kind always, a message
// that is printable and never holds the credential's secret or password — even when the
// body echoes them — and a Retry-After that is never negative.
// Run with: go test -run='^$' -fuzz='^FuzzClassify$' ./internal/entra/
func FuzzClassify(f *testing.F) {
	for _, s := range []struct {
		status    int
		body, ret string
		get       bool
	}{
		{401, aad("invalid_client", 7000215, "Invalid client secret provided."), "", false},
		{400, aad("unauthorized_client", 700016, "Application with identifier 'x' was not found."), "", false},
		{400, aad("invalid_tenant", 90002, "Tenant 'contoso' not found."), "", true},
		{400, aad("invalid_grant", 50126, "Error validating credentials due to invalid username or password."), "", false},
		{429, `Too Many Requests`, "30", false},
		{503, `{"error":"temporarily_unavailable","error_codes":["abc"]}`, "Sat, 01 Mar 2025 12:00:30 GMT", false},
		{400, `{"error":"invalid_request","error_description":"AADSTS900144: echo ` + testSecret + ` and hunter2"}`, "", false},
		{500, "\x00\x1b]0;{\"error_codes\":[1e99]}", "-1", false},
		{200, `{"access_token":"should-not-be-here"}`, "", false},
	} {
		f.Add(s.status, []byte(s.body), s.ret, s.get)
	}
	const password = "hunter2-Pa55word!" //nolint:gosec // a fake
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string, get bool) {
		method := http.MethodPost
		if get {
			method = http.MethodGet
		}
		for _, cred := range []Credential{ClientSecret(testSecret), UsernamePassword("user@contoso.com", password, testSecret)} {
			id := Identity{Authority: "https://login.microsoftonline.com/contoso/", ClientID: "11111111-2222-3333-4444-555555555555", Credential: cred}
			h := http.Header{}
			h.Set("Retry-After", retryAfter)
			ce := msalerrors.CallErr{
				Req:  &http.Request{Method: method},
				Resp: &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body))},
				Err:  io.ErrUnexpectedEOF,
			}
			e := classifyResponse(ce, id, "contoso", now)
			if e.Kind == "" {
				t.Fatalf("no kind for HTTP %d %q", status, body)
			}
			if e.RetryAfter < 0 {
				t.Fatalf("negative RetryAfter %v", e.RetryAfter)
			}
			for _, secret := range []string{testSecret, password} {
				if strings.Contains(e.Message, secret) {
					t.Fatalf("the message holds a secret: %q", e.Message)
				}
			}
			if !utf8.ValidString(e.Message) || strings.ContainsAny(e.Message, "\r\n\x00\x1b") {
				t.Fatalf("the message is not one printable line: %q", e.Message)
			}
		}
	})
}
