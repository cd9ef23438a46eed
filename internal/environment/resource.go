package environment

import (
	"net/url"
	"strings"
)

// CanonicalResource returns the spelling of a token resource that every part of the
// operator uses: scheme and host lower-cased, the path kept (a challenge's resource_id may
// carry one), user information, query and fragment dropped, and exactly one trailing slash
// added when missing. Spellings of one resource then share a token. For an environment's
// root it is the Environment's URL.
func CanonicalResource(u *url.URL) string {
	canonical := (&url.URL{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Host), Path: u.Path}).String()
	if !strings.HasSuffix(canonical, "/") {
		canonical += "/"
	}
	return canonical
}
