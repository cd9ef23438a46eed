package trust_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/d365-operator/d365-operator/internal/trust"
)

func TestCheckAuthority(t *testing.T) {
	policy := trust.NewPolicy([]string{"login.sim.example", "*.idp.example", ".other.example:8443"}, nil)
	tests := []struct {
		name        string
		url         string
		wantProblem string // empty: trusted
	}{
		{"the public cloud login host is trusted", "https://login.microsoftonline.com/7e1c/", ""},
		{"the legacy public host is trusted", "https://login.windows.net/7e1c/", ""},
		{"sts.windows.net is trusted", "https://sts.windows.net/7e1c/", ""},
		{"GCC High and DoD's login host is trusted", "https://login.microsoftonline.us/7e1c/", ""},
		{"the US Government alias is trusted", "https://login.usgovcloudapi.net/7e1c/", ""},
		{"China's login host is trusted", "https://login.partner.microsoftonline.cn/7e1c/", ""},
		{"China's legacy alias is trusted", "https://login.chinacloudapi.cn/7e1c/", ""},
		{"legacy Germany is trusted", "https://login.microsoftonline.de/7e1c/", ""},
		{"host case and a trailing dot do not matter", "https://LOGIN.MicrosoftOnline.COM./7e1c/", ""},
		{"an explicit port on a trusted host is fine", "https://login.microsoftonline.com:443/7e1c/", ""},
		{"an exact extra host is trusted", "https://login.sim.example/t/", ""},
		{"a *.suffix extra trusts hosts below it", "https://a.idp.example/t/", ""},
		{"a .suffix extra with a port trusts hosts below it", "https://b.other.example/t/", ""},
		{"a suffix extra does not trust the bare suffix", "https://idp.example/t/", trust.ProblemUnknownHost},
		{"an exact extra does not trust hosts below it", "https://x.login.sim.example/t/", trust.ProblemUnknownHost},
		{"a look-alike suffix is refused", "https://login.microsoftonline.com.evil.example/t/", trust.ProblemUnknownHost},
		{"a look-alike prefix is refused", "https://evil-login.microsoftonline.com/t/", trust.ProblemUnknownHost},
		{"a subdomain of a login host is refused", "https://x.login.microsoftonline.com/t/", trust.ProblemUnknownHost},
		{"a foreign host is refused", "https://login.evil.example/t/", trust.ProblemUnknownHost},
		{"a Dataverse host is not an authority", "https://contoso.crm.dynamics.com/t/", trust.ProblemUnknownHost},
		{"http is refused even for a trusted host", "http://login.microsoftonline.com/t/", trust.ProblemScheme},
		{"userinfo disguising the host is refused", "https://login.microsoftonline.com@evil.example/t/", trust.ProblemMalformed},
		{"a URL without a host is refused", "https:///t/", trust.ProblemMalformed},
		{"an IP address is refused", "https://127.0.0.1:8443/t/", trust.ProblemUnknownHost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkResult(t, policy.CheckAuthority(mustParse(t, tc.url)), trust.KindAuthority, tc.wantProblem)
		})
	}
}

func TestCheckEnvironment(t *testing.T) {
	policy := trust.NewPolicy(nil, []string{"*.sim.example", "exact.example"})
	tests := []struct {
		name        string
		url         string
		wantProblem string
	}{
		{"a commercial environment is trusted", "https://contoso.crm.dynamics.com", ""},
		{"a regional environment is trusted", "https://org1e971638.crm4.dynamics.com/", ""},
		{"the .api. host variant is trusted", "https://contoso.api.crm.dynamics.com/", ""},
		{"a GCC environment is trusted", "https://contoso.crm9.dynamics.com/", ""},
		{"a GCC High environment is trusted", "https://contoso.crm.microsoftdynamics.us/", ""},
		{"a DoD environment is trusted", "https://contoso.crm.appsplatform.us/", ""},
		{"a China environment is trusted", "https://contoso.crm.dynamics.cn/", ""},
		{"a legacy Germany environment is trusted", "https://contoso.crm.microsoftdynamics.de/", ""},
		{"the Online Management API is trusted", "https://admin.services.crm.dynamics.com/", ""},
		{"a suffix extra is trusted", "https://contoso.sim.example/", ""},
		{"an exact extra is trusted", "https://exact.example/", ""},
		{"the bare suffix is refused", "https://dynamics.com/", trust.ProblemUnknownHost},
		{"a look-alike suffix is refused", "https://contoso.crm.dynamics.com.evil.example/", trust.ProblemUnknownHost},
		{"a look-alike domain is refused", "https://contoso.evildynamics.com/", trust.ProblemUnknownHost},
		{"an authority host is not an environment", "https://login.microsoftonline.com/", trust.ProblemUnknownHost},
		{"http is refused", "http://contoso.crm.dynamics.com/", trust.ProblemScheme},
		{"userinfo is refused", "https://contoso.crm.dynamics.com@evil.example/", trust.ProblemMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkResult(t, policy.CheckEnvironment(mustParse(t, tc.url)), trust.KindEnvironment, tc.wantProblem)
		})
	}
}

func TestPolicyEdgeCases(t *testing.T) {
	var nilPolicy *trust.Policy
	tests := []struct {
		name        string
		check       func() error
		wantProblem string
	}{
		{"a nil policy trusts the built-in authority hosts", func() error {
			return nilPolicy.CheckAuthority(mustParse(t, "https://login.microsoftonline.com/t/"))
		}, ""},
		{"a nil policy refuses other hosts", func() error {
			return nilPolicy.CheckEnvironment(mustParse(t, "https://evil.example/"))
		}, trust.ProblemUnknownHost},
		{"a zero policy fails closed", func() error {
			return (&trust.Policy{}).CheckAuthority(mustParse(t, "https://login.microsoftonline.com/t/"))
		}, trust.ProblemUnknownHost},
		{"a nil URL is refused", func() error { return trust.NewPolicy(nil, nil).CheckAuthority(nil) }, trust.ProblemMalformed},
		{"empty and lone-dot extras trust nothing", func() error {
			return trust.NewPolicy([]string{"", ".", "*", "*."}, nil).CheckAuthority(mustParse(t, "https://evil.example/t/"))
		}, trust.ProblemUnknownHost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check()
			if tc.wantProblem == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var te *trust.Error
			if !errors.As(err, &te) || te.Problem != tc.wantProblem {
				t.Fatalf("got %v, want problem %s", err, tc.wantProblem)
			}
		})
	}
}

func TestErrorMessagesSayWhatToDo(t *testing.T) {
	policy := trust.NewPolicy(nil, nil)
	tests := []struct {
		name     string
		err      error
		wantText string
		wantKind trust.Kind
	}{
		{"an unknown authority names the flag",
			policy.CheckAuthority(mustParse(t, "https://login.evil.example/t/")),
			"authority host login.evil.example is not a known Entra ID host; tokens are only requested from Entra ID (start the operator with --extra-authority-hosts to allow a private host)",
			trust.KindAuthority},
		{"an unknown environment names the flag",
			policy.CheckEnvironment(mustParse(t, "https://evil.example/")),
			"start the operator with --extra-environment-hosts", trust.KindEnvironment},
		{"http says https is required",
			policy.CheckEnvironment(mustParse(t, "http://contoso.crm.dynamics.com/")),
			"only sent over https", trust.KindEnvironment},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var te *trust.Error
			if !errors.As(tc.err, &te) {
				t.Fatalf("got %v, want *trust.Error", tc.err)
			}
			if !strings.Contains(te.Error(), tc.wantText) {
				t.Errorf("message %q lacks %q", te.Error(), tc.wantText)
			}
			if te.Kind != tc.wantKind {
				t.Errorf("kind %s, want %s", te.Kind, tc.wantKind)
			}
		})
	}
}

func checkResult(t *testing.T, err error, wantKind trust.Kind, wantProblem string) {
	t.Helper()
	if wantProblem == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var te *trust.Error
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want *trust.Error with problem %s", err, wantProblem)
	}
	if te.Kind != wantKind || te.Problem != wantProblem {
		t.Errorf("got kind %s problem %s, want %s %s (%v)", te.Kind, te.Problem, wantKind, wantProblem, err)
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u
}

func TestIsBuiltInEnvironmentHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"contoso.crm.dynamics.com", true},
		{"Contoso.CRM.microsoftdynamics.us.", true},
		{"contoso.sim.example", false},
		{"dynamics.com", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			if got := trust.IsBuiltInEnvironmentHost(tc.host); got != tc.want {
				t.Errorf("IsBuiltInEnvironmentHost(%q) = %v, want %v", tc.host, got, tc.want)
			}
		})
	}
}
