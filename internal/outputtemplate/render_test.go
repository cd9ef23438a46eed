package outputtemplate

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const token = "eyJhbGciOi.secret-token-value.sig"

var data = Data{
	AccessToken: token, TokenType: "Bearer",
	IssuedAt:       time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
	ExpiresAt:      time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC),
	EnvironmentURL: "https://contoso.crm.dynamics.com/", WebAPIURL: "https://contoso.crm.dynamics.com/api/data/v9.2/",
	TenantID: "tenant", ClientID: "client", Authority: "https://login.microsoftonline.com/tenant/",
	Resource: "https://contoso.crm.dynamics.com/",
}

func TestRenderEachField(t *testing.T) {
	for _, c := range []struct{ name, template, want string }{
		{"an Authorization header", "Bearer {{ .AccessToken }}", "Bearer " + token},
		{"the token type", "{{ .TokenType }}", "Bearer"},
		{"the expiry as RFC 3339", "{{ .ExpiresAt | rfc3339 }}", "2026-11-21T11:00:00Z"},
		{"the issue time as unix seconds", "{{ .IssuedAt | unix }}", "1795255200"},
		{"the environment and Web API URLs", "{{ .EnvironmentURL }} {{ .WebAPIURL }}", "https://contoso.crm.dynamics.com/ https://contoso.crm.dynamics.com/api/data/v9.2/"},
		{"who and where", "{{ .TenantID }} {{ .ClientID }} {{ .Authority }} {{ .Resource }}", "tenant client https://login.microsoftonline.com/tenant/ https://contoso.crm.dynamics.com/"},
		{"a JSON document", `{"access_token": {{ .AccessToken | quote }}, "expires_on": {{ .ExpiresAt | unix }}}`, `{"access_token": "` + token + `", "expires_on": 1795258800}`},
		{"toJSON of a string", "{{ .TokenType | toJSON }}", `"Bearer"`},
		{"base64", "{{ .TokenType | b64enc }}", "QmVhcmVy"},
		{"a conditional", "{{ if .ClientID }}yes{{ else }}no{{ end }}", "yes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Render(map[string]string{"k": c.template}, data)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out["k"]); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestRenderRefusesWithKeyAndLine(t *testing.T) {
	for _, c := range []struct {
		name, template string
		line           int
		mentions       string
	}{
		{"an unclosed action", "first\n{{ .AccessToken ", 2, "unclosed action"},
		{"an unknown field", "a\nb\n{{ .Password }}", 3, "Password"},
		{"an unknown function", "{{ .AccessToken | sha1 }}", 1, "sha1"},
		{"a range", "x\n{{ range 1000000000 }}{{ end }}", 2, "not supported"},
		{"a define", `{{ define "a" }}{{ template "a" }}{{ end }}`, 0, "not supported"},
		{"a failing call", "{{ slice .AccessToken 0 99999 }}", 1, "slice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Render(map[string]string{"token.json": c.template}, data)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if te.Key != "token.json" || te.Line != c.line || !strings.Contains(err.Error(), c.mentions) {
				t.Errorf("err = %q (line %d), want key token.json, line %d, mentioning %q", err, te.Line, c.line, c.mentions)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the error holds the token: %q", err)
			}
		})
	}
}

func TestRenderLimits(t *testing.T) {
	many := map[string]string{}
	for i := range MaxKeys + 1 {
		many[strings.Repeat("k", i+1)] = "x"
	}
	if _, err := Render(many, data); err == nil {
		t.Error("more than MaxKeys keys rendered")
	}
	if _, err := Render(map[string]string{"big": strings.Repeat("x", MaxTemplateBytes+1)}, data); err == nil {
		t.Error("a template over MaxTemplateBytes parsed")
	}
	huge := `{{ printf "%70000s" .TokenType }}`
	if _, err := Render(map[string]string{"huge": huge}, data); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a value over MaxValueBytes: err = %v", err)
	}
}
