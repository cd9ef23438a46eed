package environment

import (
	"net/url"
	"testing"
)

func TestCanonicalResource(t *testing.T) {
	tests := []struct{ name, raw, want string }{
		{"an environment root is its URL", "https://contoso.crm.dynamics.com/", "https://contoso.crm.dynamics.com/"},
		{"the trailing slash is added", "https://contoso.crm.dynamics.com", "https://contoso.crm.dynamics.com/"},
		{"scheme and host are lower-cased", "HTTPS://Contoso.CRM.dynamics.com", "https://contoso.crm.dynamics.com/"},
		{"a challenge's path is kept", "https://globaldisco.crm.dynamics.com/api", "https://globaldisco.crm.dynamics.com/api/"},
		{"a path's case is kept", "https://contoso.crm.dynamics.com/Org/", "https://contoso.crm.dynamics.com/Org/"},
		{"query, fragment and user information are dropped", "https://u@contoso.crm.dynamics.com/?x=1#y", "https://contoso.crm.dynamics.com/"},
		{"a port is kept", "https://contoso.sim.example:8443", "https://contoso.sim.example:8443/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := CanonicalResource(u); got != tc.want {
				t.Errorf("CanonicalResource(%q) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
	env, err := Parse("https://Contoso.crm.dynamics.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := CanonicalResource(env.Root()); got != env.URL() {
		t.Errorf("the root's resource %q is not the environment URL %q", got, env.URL())
	}
}
