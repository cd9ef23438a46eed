package entra

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestIdentityKey(t *testing.T) {
	base := testIdentity()
	with := func(change func(*Identity)) Identity {
		id := base
		change(&id)
		return id
	}
	tests := []struct {
		name     string
		other    Identity
		wantSame bool
	}{
		{"the same identity has the same key", with(func(*Identity) {}), true},
		{"another spelling of the authority has the same key", with(func(i *Identity) {
			i.Authority = "HTTPS://Login.MicrosoftOnline.com/" + testTenant
		}), true},
		{"a rotated secret is a new identity", with(func(i *Identity) { i.Credential = ClientSecret(testSecret + "2") }), false},
		{"another client id is a new identity", with(func(i *Identity) { i.ClientID = "other" }), false},
		{"another tenant is a new identity", with(func(i *Identity) { i.Authority = "https://login.microsoftonline.com/other/" }), false},
		{"another cloud is a new identity", with(func(i *Identity) {
			i.Authority = "https://login.microsoftonline.us/" + testTenant + "/"
		}), false},
		{"fields cannot be shifted into one another", Identity{Authority: base.Authority, ClientID: base.ClientID + testSecret[:1], Credential: ClientSecret(testSecret[1:])}, false},
	}
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base.Key(), tc.other.Key()
			if !hex64.MatchString(a) || !hex64.MatchString(b) {
				t.Fatalf("keys are not hex SHA-256: %q %q", a, b)
			}
			if (a == b) != tc.wantSame {
				t.Errorf("same key = %v, want %v", a == b, tc.wantSame)
			}
		})
	}
}

func TestSecretsAndTokensDoNotPrint(t *testing.T) {
	id := testIdentity()
	tok := Token{AccessToken: "eyJ.secret-token-value", IssuedAt: t0, ExpiresOn: t0.Add(time.Hour)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb+" "+verb, id, tok)
		if strings.Contains(out, testSecret) || strings.Contains(out, tok.AccessToken) {
			t.Errorf("%s prints a secret or token", verb)
		}
	}
}

func TestScopeFor(t *testing.T) {
	tests := []struct{ name, resource, want string }{
		{"a resource with trailing slash gets .default after it", "https://contoso.crm.dynamics.com/", "https://contoso.crm.dynamics.com/.default"},
		{"a resource without trailing slash gets /.default", "https://contoso.crm.dynamics.com", "https://contoso.crm.dynamics.com/.default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := scopeFor(tc.resource); got != tc.want {
				t.Errorf("scopeFor(%q) = %q, want %q", tc.resource, got, tc.want)
			}
		})
	}
}
