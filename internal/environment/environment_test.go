package environment

import (
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct{ name, raw, wantURL, wantHost, wantHostname string }{
		{"a bare environment URL gets its trailing slash", "https://contoso.crm.dynamics.com",
			"https://contoso.crm.dynamics.com/", "contoso.crm.dynamics.com", "contoso.crm.dynamics.com"},
		{"the host is lower-cased and the scheme's case ignored", "HTTPS://Contoso.CRM.Dynamics.com/",
			"https://contoso.crm.dynamics.com/", "contoso.crm.dynamics.com", "contoso.crm.dynamics.com"},
		{"surrounding spaces are ignored", "  https://contoso.crm4.dynamics.com/ \n",
			"https://contoso.crm4.dynamics.com/", "contoso.crm4.dynamics.com", "contoso.crm4.dynamics.com"},
		{"a port is kept (local simulators listen on one)", "https://contoso.sim.example:8443",
			"https://contoso.sim.example:8443/", "contoso.sim.example:8443", "contoso.sim.example"},
		{"repeated slashes are still the root", "https://contoso.crm.dynamics.com//",
			"https://contoso.crm.dynamics.com/", "contoso.crm.dynamics.com", "contoso.crm.dynamics.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := Parse(tc.raw)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.raw, err)
			}
			if env.URL() != tc.wantURL || env.String() != tc.wantURL || env.Host() != tc.wantHost || env.Hostname() != tc.wantHostname {
				t.Errorf("got URL %q host %q hostname %q, want %q %q %q", env.URL(), env.Host(), env.Hostname(), tc.wantURL, tc.wantHost, tc.wantHostname)
			}
			if want := tc.wantURL + "api/data/v9.2/"; env.WebAPIURL() != want {
				t.Errorf("WebAPIURL = %q, want %q", env.WebAPIURL(), want)
			}
			if env.Root().String() != tc.wantURL {
				t.Errorf("Root = %q", env.Root())
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ name, raw, wantErr string }{
		{"plain http is refused: a token is sent to this URL", "http://contoso.crm.dynamics.com", "must be https://<host>"},
		{"no scheme is refused", "contoso.crm.dynamics.com", "must be https://<host>"},
		{"user information is refused", "https://admin@contoso.crm.dynamics.com/", "must be https://<host>"},
		{"a path is refused", "https://contoso.crm.dynamics.com/main.aspx", `no path beyond "/"`},
		{"the Web API path is refused too", "https://contoso.crm.dynamics.com/api/data/v9.2/", `no path beyond "/"`},
		{"a query is refused", "https://contoso.crm.dynamics.com/?appid=1", `no path beyond "/"`},
		{"a fragment is refused", "https://contoso.crm.dynamics.com/#x", `no path beyond "/"`},
		{"an unparsable URL says so", "https://contoso.crm.dynamics.com:port/", "is not a URL"},
		{"the empty string is refused", "", "must be https://<host>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := Parse(tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Parse(%q) = %v, %v; want an error mentioning %q", tc.raw, env, err, tc.wantErr)
			}
			if env != (Environment{}) {
				t.Errorf("a refused URL returned %v", env)
			}
		})
	}
}

func TestParseNeverQuotesAPassword(t *testing.T) {
	_, err := Parse("https://admin:hunter2@contoso.crm.dynamics.com/")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "admin") {
		t.Errorf("error %v", err)
	}
}

func TestRootIsACopy(t *testing.T) {
	env, err := Parse("https://contoso.crm.dynamics.com")
	if err != nil {
		t.Fatal(err)
	}
	env.Root().Host = "evil.example"
	if env.URL() != "https://contoso.crm.dynamics.com/" {
		t.Errorf("changing Root changed the environment: %s", env)
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name, host string
		want       Kind
	}{
		{"an environment is Dataverse", "contoso.crm.dynamics.com", Dataverse},
		{"the Online Management API of the public cloud", "admin.services.crm.dynamics.com", OnlineManagementAPI},
		{"a regional Online Management API", "admin.services.crm4.dynamics.com", OnlineManagementAPI},
		{"case, port and a trailing dot do not matter", "Admin.Services.CRM9.dynamics.com.:443", OnlineManagementAPI},
		{"the Online Management API of US Government", "admin.services.crm9.microsoftdynamics.us", OnlineManagementAPI},
		{"Global Discovery", "globaldisco.crm.dynamics.com", GlobalDiscovery},
		{"a look-alike outside the built-in clouds is not the admin API", "admin.services.crm.dynamics.com.evil.example", Dataverse},
		{"a private host is Dataverse", "admin.services.crm.sim.example", Dataverse},
		{"no host is Dataverse", "", Dataverse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.host); got != tc.want {
				t.Errorf("KindOf(%q) = %s, want %s", tc.host, got, tc.want)
			}
		})
	}
	env, err := Parse("https://Admin.Services.CRM.dynamics.com/")
	if err != nil || env.Kind() != OnlineManagementAPI {
		t.Errorf("Parse's kind: %v %v", env.Kind(), err)
	}
}
