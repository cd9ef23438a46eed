// Package trust decides which hosts may receive credentials. A user who can write a
// D365Connection chooses the environment URL, and the environment's challenge chooses the
// authority; without this policy either could send a client secret, or a token, to a host
// of their choosing. Tokens are therefore only requested from Entra ID login hosts, and only
// for Dataverse hosts, unless the operator was started with extra hosts (local simulators).
package trust

import (
	"net"
	"net/url"
	"strings"
)

// authorityHosts are the Entra ID login hosts of the public and sovereign clouds (MSAL's
// trusted-host list, which is also the instance-discovery alias set).
var authorityHosts = []string{
	// Public cloud.
	"login.microsoftonline.com",
	"login.windows.net",
	"login.microsoft.com",
	"sts.windows.net",
	// US Government (GCC High, DoD).
	"login.microsoftonline.us",
	"login.usgovcloudapi.net",
	"login-us.microsoftonline.com",
	// China (21Vianet).
	"login.partner.microsoftonline.cn",
	"login.chinacloudapi.cn",
	// Legacy Germany.
	"login.microsoftonline.de",
	// Sovereign clouds (Bleu, Delos, GovSG).
	"login.sovcloud-identity.fr",
	"login.sovcloud-identity.de",
	"login.sovcloud-identity.sg",
}

// environmentSuffixes are the Dataverse host suffixes (ServiceClient's IsValidOnlineHost):
// commercial crmN regions and GCC, GCC High, DoD, China and legacy Germany.
var environmentSuffixes = []string{
	".dynamics.com",
	".microsoftdynamics.us",
	".appsplatform.us",
	".dynamics.cn",
	".microsoftdynamics.de",
}

// Policy says which authority and environment hosts are trusted. Build it with NewPolicy; a
// nil *Policy trusts the built-in hosts and a zero Policy trusts nothing (fails closed). It
// is never modified after creation, so it is safe for concurrent use.
type Policy struct {
	authority   hostSet
	environment hostSet
}

// NewPolicy returns a policy trusting the built-in Entra ID and Dataverse hosts plus the
// given extras. An extra is an exact host ("login.sim.example") or a suffix (".sim.example"
// or "*.sim.example", matching strictly below it); a port, if given, is ignored.
func NewPolicy(extraAuthorityHosts, extraEnvironmentHosts []string) *Policy {
	p := &Policy{}
	p.authority.add(authorityHosts...)
	p.authority.add(extraAuthorityHosts...)
	p.environment.add(environmentSuffixes...)
	p.environment.add(extraEnvironmentHosts...)
	return p
}

// CheckEnvironment returns a *Error unless u is an https URL of a trusted Dataverse host.
// A nil policy trusts only the built-in hosts.
func (p *Policy) CheckEnvironment(u *url.URL) error {
	if p == nil {
		p = defaultPolicy
	}
	return check(KindEnvironment, &p.environment, u)
}

// CheckAuthority returns a *Error unless u is an https URL of a trusted Entra ID host.
// A nil policy trusts only the built-in hosts.
func (p *Policy) CheckAuthority(u *url.URL) error {
	if p == nil {
		p = defaultPolicy
	}
	return check(KindAuthority, &p.authority, u)
}

// defaultPolicy serves a nil *Policy.
var defaultPolicy = NewPolicy(nil, nil)

// IsBuiltInEnvironmentHost reports whether host (without port) is below one of the
// built-in Dataverse suffixes, ignoring any extra hosts.
func IsBuiltInEnvironmentHost(host string) bool {
	return defaultPolicy.environment.contains(normalizeHost(host))
}

func check(kind Kind, set *hostSet, u *url.URL) error {
	if u == nil {
		return &Error{Kind: kind, Problem: ProblemMalformed}
	}
	host := normalizeHost(u.Hostname())
	switch {
	case !strings.EqualFold(u.Scheme, "https"):
		return &Error{Kind: kind, Host: host, Scheme: u.Scheme, Problem: ProblemScheme}
	case u.User != nil || host == "" || u.Opaque != "":
		// Userinfo in a URL is a classic way to disguise the real host.
		return &Error{Kind: kind, Host: host, Problem: ProblemMalformed}
	case set.contains(host):
		return nil
	}
	return &Error{Kind: kind, Host: host, Problem: ProblemUnknownHost}
}

// hostSet holds exact host names and suffixes (each starting with a dot).
type hostSet struct {
	exact    map[string]bool
	suffixes []string
}

func (s *hostSet) add(entries ...string) {
	if s.exact == nil {
		s.exact = map[string]bool{}
	}
	for _, e := range entries {
		e = strings.TrimPrefix(strings.TrimSpace(e), "*")
		if h, _, err := net.SplitHostPort(e); err == nil {
			e = h
		}
		e = normalizeHost(e)
		switch {
		case e == "" || e == ".":
			// An empty suffix would trust every host.
		case strings.HasPrefix(e, "."):
			s.suffixes = append(s.suffixes, e)
		default:
			s.exact[e] = true
		}
	}
}

func (s *hostSet) contains(host string) bool {
	if host == "" {
		return false
	}
	if s.exact[host] {
		return true
	}
	for _, suffix := range s.suffixes {
		// Strictly below the suffix: ".dynamics.com" matches "x.dynamics.com", not "dynamics.com".
		if len(host) > len(suffix) && strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}

// normalizeHost lower-cases a host name and drops a trailing root dot, which DNS ignores
// but a suffix comparison would not.
func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}
