// Package environment holds the two addresses every part of the operator agrees on: a
// Dataverse environment (parsed once, by Parse, into its canonical "https://host/") and an
// Entra ID authority ("https://host/tenant/"). It owns the normalisation rules and the Web
// API version, so that the controller, the wire clients and the login command cannot drift
// apart on what "the same environment" means.
package environment

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/d365-operator/d365-operator/internal/printable"
)

// WebAPIPath is the Dataverse Web API's path and version below an environment's root.
const WebAPIPath = "api/data/v9.2/"

// Environment is a parsed environment URL. Its zero value is no environment; Parse makes
// the others. Two Environments are equal when their canonical URLs are.
type Environment struct {
	host string // lower-cased, with the port if one was given
	kind Kind
}

// Parse reads an environment URL: https only, no user information, no path beyond "/", no
// query or fragment (the strictest rule the operator had, since a token is sent to this
// URL). Surrounding spaces are ignored and the host is lower-cased. Errors say what to fix;
// they quote the URL with any password in it redacted.
func Parse(raw string) (Environment, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return Environment{}, fmt.Errorf("the environment URL is not a URL: %w", err)
	case !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.User != nil:
		return Environment{}, fmt.Errorf("the environment URL %q must be https://<host>", quotable(raw, u))
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		return Environment{}, fmt.Errorf("the environment URL %q must have no path beyond \"/\"", quotable(raw, u))
	case strings.ContainsFunc(u.Host, notHostRune):
		// Hosts are ASCII (IDNs in punycode); anything else would not survive a round trip.
		return Environment{}, fmt.Errorf("the environment URL %q has a host that is not an ASCII host name", quotable(raw, u))
	}
	host := strings.ToLower(u.Host)
	return Environment{host: host, kind: KindOf(host)}, nil
}

// URL is the canonical environment URL, "https://host/": the token's resource, the output
// Secret's environment_url, and the key under which connections share discoveries.
func (e Environment) URL() string {
	return e.Root().String()
}

// WebAPIURL is "https://host/api/data/v9.2/", the output Secret's web_api_url.
func (e Environment) WebAPIURL() string {
	return e.URL() + WebAPIPath
}

// Root returns URL as a *url.URL, a new one on each call, for trust checks and requests.
func (e Environment) Root() *url.URL {
	return &url.URL{Scheme: "https", Host: e.host, Path: "/"}
}

// Host is the lower-cased host with its port, if the URL had one: what messages name.
func (e Environment) Host() string {
	return e.host
}

// Hostname is Host without the port.
func (e Environment) Hostname() string {
	return e.Root().Hostname()
}

// Kind says which service the host is.
func (e Environment) Kind() Kind {
	return e.kind
}

// String is URL.
func (e Environment) String() string {
	return e.URL()
}

// quotable returns the URL as the user wrote it, cleaned for a message, with a password in
// its user information replaced: this text ends up in conditions.
func quotable(raw string, u *url.URL) string {
	if _, hasPassword := u.User.Password(); hasPassword {
		raw = u.Redacted()
	}
	return printable.Line(raw, 200)
}

// notHostRune reports a rune that no host name, IP literal or port contains.
func notHostRune(r rune) bool {
	return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && !strings.ContainsRune(".-:[]", r)
}
