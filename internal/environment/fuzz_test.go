package environment

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that what it accepts is canonical (parsing its
// URL gives the same environment), and that the URL has the promised shape.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"https://contoso.crm.dynamics.com",
		"HTTPS://Contoso.CRM4.Dynamics.com/",
		" https://admin.services.crm.dynamics.com// ",
		"https://contoso.sim.example:8443",
		"https://[fe80::1%25eth0]:443/",
		"https://[::%25\xe2]", // found by fuzzing: invalid UTF-8 in a zone did not round-trip
		"https://%C3%A9.crm.dynamics.com/",
		"https://:443/",
		"https://contoso.crm.dynamics.com./",
		"http://contoso.crm.dynamics.com",
		"https://u:p@contoso.crm.dynamics.com/",
		"https://contoso.crm.dynamics.com/main.aspx?x#y",
		"https:opaque",
		"",
		"\x00https://x",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		env, err := Parse(raw)
		if err != nil {
			return
		}
		u := env.URL()
		if !strings.HasPrefix(u, "https://") || !strings.HasSuffix(u, "/") || env.WebAPIURL() != u+WebAPIPath {
			t.Fatalf("Parse(%q).URL() = %q", raw, u)
		}
		again, err := Parse(u)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", raw, u, err)
		}
		if again != env {
			t.Fatalf("Parse(%q) = %q, which parses to %q", raw, u, again.URL())
		}
	})
}

// FuzzParseAuthority checks the same for authorities.
func FuzzParseAuthority(f *testing.F) {
	for _, seed := range []string{
		"https://login.microsoftonline.com/7e1c/",
		"HTTPS://Login.MicrosoftOnline.us/Contoso/oauth2/authorize",
		"https://login.sim.example:8443/t",
		"https://login.microsoftonline.com/%2F/",
		"https://login.microsoftonline.com/",
		"http://login.microsoftonline.com/t/",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		a, err := ParseAuthority(raw)
		if err != nil {
			return
		}
		again, err := ParseAuthority(a.String())
		if err != nil || again != a {
			t.Fatalf("ParseAuthority(%q) = %q, which parses to %q, %v", raw, a, again, err)
		}
	})
}
