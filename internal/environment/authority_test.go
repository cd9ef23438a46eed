package environment

import (
	"strings"
	"testing"
)

func TestParseAuthority(t *testing.T) {
	tests := []struct {
		name, raw                string
		want, wantOrigin, tenant string
		wantErr                  string
	}{
		{"a canonical authority is kept", "https://login.microsoftonline.com/7e1c/",
			"https://login.microsoftonline.com/7e1c/", "https://login.microsoftonline.com", "7e1c", ""},
		{"the trailing slash is added", "https://login.microsoftonline.us/contoso.onmicrosoft.com",
			"https://login.microsoftonline.us/contoso.onmicrosoft.com/", "https://login.microsoftonline.us", "contoso.onmicrosoft.com", ""},
		{"scheme and host are lower-cased, the tenant is not", "HTTPS://Login.MicrosoftOnline.com/Contoso",
			"https://login.microsoftonline.com/Contoso/", "https://login.microsoftonline.com", "Contoso", ""},
		{"the authorize endpoint of a challenge is dropped", "https://login.microsoftonline.com/7e1c/oauth2/authorize",
			"https://login.microsoftonline.com/7e1c/", "https://login.microsoftonline.com", "7e1c", ""},
		{"a port is kept", " https://login.sim.example:8443/t/ ",
			"https://login.sim.example:8443/t/", "https://login.sim.example:8443", "t", ""},
		{"no tenant is refused", "https://login.microsoftonline.com/", "", "", "", "must be https://<login host>/<tenant>/"},
		{"no host is refused", "https:///t/", "", "", "", "must be https://<login host>/<tenant>/"},
		{"plain http is refused", "http://login.microsoftonline.com/t/", "", "", "", "must be https://<login host>/<tenant>/"},
		{"user information is refused", "https://me@login.microsoftonline.com/t/", "", "", "", "must be https://<login host>/<tenant>/"},
		{"an unparsable URL says so", "https://login.microsoftonline.com:x/t/", "", "", "", "is not a URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAuthority(tc.raw)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseAuthority(%q) = %v, %v; want an error mentioning %q", tc.raw, a, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAuthority(%q): %v", tc.raw, err)
			}
			if a.String() != tc.want || a.Origin() != tc.wantOrigin || a.Tenant() != tc.tenant || "https://"+a.Host() != tc.wantOrigin {
				t.Errorf("got %q origin %q host %q tenant %q", a.String(), a.Origin(), a.Host(), a.Tenant())
			}
		})
	}
}

func TestParseAuthorityNeverQuotesAPassword(t *testing.T) {
	_, err := ParseAuthority("https://me:hunter2@login.microsoftonline.com/t/")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v", err)
	}
}
