package dataverse

import (
	"strings"
	"testing"
)

func TestParseChallenge(t *testing.T) {
	const (
		tenantURI = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/authorize"
		resource  = "https://org1e971638.crm4.dynamics.com/"
	)
	tests := []struct {
		name    string
		header  string
		want    Challenge
		wantErr string // substring of the error; empty: success
	}{
		{"the real Dataverse header (MSAL.NET #3112) parses",
			"Bearer authorization_uri=" + tenantURI + ", resource_id=" + resource,
			Challenge{tenantURI, resource}, ""},
		{"the GCC High form parses",
			"Bearer authorization_uri=https://login.microsoftonline.us/<t>/oauth2/authorize, resource_id=https://org.crm.microsoftdynamics.us/",
			Challenge{"https://login.microsoftonline.us/<t>/oauth2/authorize", "https://org.crm.microsoftdynamics.us/"}, ""},
		{"ServiceClient's mixed-case test header parses",
			"BeArEr AUTHORIZATION_URI=https://login.somewhere.tst/abc/authorize, reSoUrCe_ID=https://hello.com",
			Challenge{"https://login.somewhere.tst/abc/authorize", "https://hello.com"}, ""},
		{"a lower-case scheme parses", "bearer authorization_uri=https://a/t, resource_id=https://r/",
			Challenge{"https://a/t", "https://r/"}, ""},
		{"quoted values parse", `Bearer authorization_uri="https://a/t/oauth2/authorize", resource_id="https://r/"`,
			Challenge{"https://a/t/oauth2/authorize", "https://r/"}, ""},
		{"quoted values may hold commas and escapes", `Bearer authorization_uri="https://a/t,x", resource_id="https://r/\"q\""`,
			Challenge{"https://a/t,x", `https://r/"q"`}, ""},
		{"extra spaces around separators are ignored", "  Bearer   authorization_uri = https://a/t ,resource_id=   https://r/  ",
			Challenge{"https://a/t", "https://r/"}, ""},
		{"tabs are whitespace too", "Bearer\tauthorization_uri=https://a/t,\tresource_id=https://r/",
			Challenge{"https://a/t", "https://r/"}, ""},
		{"extra parameters are ignored (Graph/ARM style)", `Bearer realm="", error="invalid_token", authorization_uri="https://a/t", client_id="00000003", resource_id="https://r/"`,
			Challenge{"https://a/t", "https://r/"}, ""},
		{"parameter order does not matter", "Bearer resource_id=https://r/, authorization_uri=https://a/t",
			Challenge{"https://a/t", "https://r/"}, ""},
		{"an unquoted = in a value belongs to the value", "Bearer authorization_uri=https://a/t?x=1, resource_id=https://r/",
			Challenge{"https://a/t?x=1", "https://r/"}, ""},
		{"the first of duplicated keys wins", "Bearer authorization_uri=https://a/first, authorization_uri=https://a/second, resource_id=https://r/",
			Challenge{"https://a/first", "https://r/"}, ""},
		{"a Bearer challenge after others in one folded value is found", "Negotiate, NTLM, Bearer authorization_uri=https://a/t, resource_id=https://r/",
			Challenge{"https://a/t", "https://r/"}, ""},
		{"a Basic challenge with params before Bearer is skipped", `Basic realm="x", Bearer authorization_uri=https://a/t, resource_id=https://r/`,
			Challenge{"https://a/t", "https://r/"}, ""},
		{"parameters of another scheme do not leak into Bearer", `Foo authorization_uri=https://evil/t, Bearer resource_id=https://r/`,
			Challenge{}, "lacks authorization_uri"},
		{"a second Bearer challenge is used when the first is incomplete", "Bearer error=x, Bearer authorization_uri=https://a/t, resource_id=https://r/",
			Challenge{"https://a/t", "https://r/"}, ""},
		{"a bare Bearer is refused", "Bearer", Challenge{}, "lacks authorization_uri and resource_id"},
		{"a missing resource_id is refused", "Bearer authorization_uri=https://a/t", Challenge{}, "lacks resource_id"},
		{"a missing authorization_uri is refused", "Bearer resource_id=https://r/", Challenge{}, "lacks authorization_uri"},
		{"an empty quoted value counts as missing", `Bearer authorization_uri="", resource_id=https://r/`, Challenge{}, "lacks authorization_uri"},
		{"Bearer glued to the first key is not a Bearer challenge", "Bearerauthorization_uri=https://a/t, resource_id=https://r/", Challenge{}, "no Bearer challenge"},
		{"another scheme only is refused", "Negotiate", Challenge{}, "no Bearer challenge"},
		{"an empty header is refused", "", Challenge{}, "no Bearer challenge"},
		{"garbage is refused", `,,=,"",="",\`, Challenge{}, "no Bearer challenge"},
		{"an unterminated quote does not panic", `Bearer authorization_uri="https://a/t, resource_id=https://r/`, Challenge{}, "lacks resource_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseChallenge(tc.header)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseChallenge(%q) = %+v, %v; want error containing %q", tc.header, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseChallenge(%q): %v", tc.header, err)
			}
			if got != tc.want {
				t.Errorf("ParseChallenge(%q) = %+v, want %+v", tc.header, got, tc.want)
			}
		})
	}
}
