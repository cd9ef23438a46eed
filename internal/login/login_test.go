package login

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	valid := Options{EnvironmentURL: "https://contoso.crm.dynamics.com", ClientID: "c", Namespace: "team-a", SecretName: "cache"}
	with := func(change func(*Options)) Options {
		o := valid
		change(&o)
		return o
	}
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"a complete command line passes", valid, ""},
		{"the environment URL's case and trailing slash do not matter", with(func(o *Options) { o.EnvironmentURL = "HTTPS://Contoso.crm.dynamics.com/" }), ""},
		{"missing flags are named, sorted", Options{ClientID: "c"}, "missing --environment-url, --namespace, --secret"},
		{"plain http is refused", with(func(o *Options) { o.EnvironmentURL = "http://contoso.crm.dynamics.com" }), "--environment-url: the environment URL"},
		{"a path is refused, as in a connection's spec", with(func(o *Options) { o.EnvironmentURL = "https://contoso.crm.dynamics.com/main.aspx" }), `no path beyond "/"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("validate = %v, want an error mentioning %q", err, tc.wantErr)
			}
		})
	}
}
