package environment

import (
	"fmt"
	"net/url"
	"strings"
)

// Authority is an Entra ID authority: a login host and a tenant, what MSAL is given as
// "https://host/tenant/". Its zero value is no authority; ParseAuthority makes the others.
type Authority struct {
	host   string // lower-cased, with the port if one was given
	tenant string // the path's first segment, as escaped in the URL
}

// ParseAuthority reads "https://host/tenant[/...]": the scheme and host are lower-cased and
// anything after the tenant segment (e.g. "/oauth2/authorize") is dropped, since MSAL wants
// the authority alone. It refuses a URL that is not https or that carries user information;
// whether the host may receive a credential is the trust policy's decision, not this one's.
func ParseAuthority(raw string) (Authority, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Authority{}, fmt.Errorf("authority %q is not a URL", raw)
	}
	tenant, _, _ := strings.Cut(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	if !strings.EqualFold(u.Scheme, "https") || u.User != nil || u.Host == "" || tenant == "" {
		shown := raw
		if _, hasPassword := u.User.Password(); hasPassword {
			shown = u.Redacted() // the message ends up in conditions
		}
		return Authority{}, fmt.Errorf("authority %q must be https://<login host>/<tenant>/", shown)
	}
	return Authority{host: strings.ToLower(u.Host), tenant: tenant}, nil
}

// String is "https://host/tenant/", the form MSAL and the connection's status use.
func (a Authority) String() string {
	return a.Origin() + "/" + a.tenant + "/"
}

// Origin is "https://host", the login host as spec.authorityHost names it.
func (a Authority) Origin() string {
	return "https://" + a.host
}

// Host is the lower-cased login host with its port, if the URL had one.
func (a Authority) Host() string {
	return a.host
}

// Tenant is the tenant ID or domain, or "organizations", "common" and the like.
func (a Authority) Tenant() string {
	return a.tenant
}
