package dataverse

import "testing"

// FuzzParseChallenge checks that any header value is handled without panicking, and that a
// successful parse always yields both fields. Run with: go test -fuzz FuzzParseChallenge ./internal/dataverse/
func FuzzParseChallenge(f *testing.F) {
	for _, seed := range []string{
		"Bearer authorization_uri=https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/authorize, resource_id=https://org1e971638.crm4.dynamics.com/",
		"BeArEr AUTHORIZATION_URI=https://login.somewhere.tst/abc/authorize, reSoUrCe_ID=https://hello.com",
		`Bearer realm="", authorization_uri="https://a/t", resource_id="https://r/"`,
		`Negotiate, NTLM, Bearer authorization_uri=https://a/t?x=1, resource_id=https://r/`,
		`Bearer authorization_uri="unterminated, resource_id=\`,
		"Bearer",
		"",
		",=,\"\",=\"\"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		c, err := ParseChallenge(header)
		if err == nil && (c.AuthorizationURI == "" || c.ResourceID == "") {
			t.Fatalf("ParseChallenge(%q) succeeded with an empty field: %+v", header, c)
		}
		if err != nil && c != (Challenge{}) {
			t.Fatalf("ParseChallenge(%q) failed but returned %+v", header, c)
		}
		if err == nil {
			// Whatever parsed must also turn into an authority or a clean error, never a panic.
			_, _ = authorityFromChallenge(c)
		}
	})
}
