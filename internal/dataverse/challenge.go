// Package dataverse is the operator's client of the Dataverse Web API: it discovers an
// environment's Entra ID authority from its bearer challenge, checks a token with WhoAmI,
// and turns OData errors and service-protection throttling into actionable *Error values.
package dataverse

import (
	"errors"
	"fmt"
	"strings"
)

// Challenge is the part of a Dataverse bearer challenge the operator needs.
type Challenge struct {
	// AuthorizationURI is the tenant's v1 authorize endpoint,
	// e.g. https://login.microsoftonline.com/<tenant>/oauth2/authorize.
	AuthorizationURI string
	// ResourceID is the resource to request a token for, e.g. https://contoso.crm.dynamics.com/.
	ResourceID string
}

// ParseChallenge reads one WWW-Authenticate header value and returns its first Bearer
// challenge that carries both authorization_uri and resource_id.
//
// Dataverse sends its values unquoted although they contain ':' and '/', so RFC 7235 parsers
// (.NET's typed header among them) reject it; this parser is deliberately lenient instead:
// the scheme and the keys are case-insensitive, values may be quoted or not, spaces may
// surround '=' and ',', unknown parameters are ignored, and several challenges folded into
// one value ("Negotiate, Bearer authorization_uri=…") are told apart. It never panics.
func ParseChallenge(header string) (Challenge, error) {
	var sawBearer bool
	var missing []string
	for _, ch := range splitChallenges(header) {
		if !strings.EqualFold(ch.scheme, "bearer") {
			continue
		}
		sawBearer = true
		c := Challenge{AuthorizationURI: ch.params["authorization_uri"], ResourceID: ch.params["resource_id"]}
		if c.AuthorizationURI != "" && c.ResourceID != "" {
			return c, nil
		}
		missing = missing[:0]
		if c.AuthorizationURI == "" {
			missing = append(missing, "authorization_uri")
		}
		if c.ResourceID == "" {
			missing = append(missing, "resource_id")
		}
	}
	if !sawBearer {
		return Challenge{}, errors.New("no Bearer challenge")
	}
	return Challenge{}, fmt.Errorf("the Bearer challenge lacks %s", strings.Join(missing, " and "))
}

// challenge is one parsed auth scheme with its lower-cased parameters.
type challenge struct {
	scheme string
	params map[string]string
}

// splitChallenges splits a header value into challenges. Items are separated by commas
// outside quotes; an item that starts with a token followed by whitespace and then something
// other than '=' (or a lone token) starts a new challenge, anything else is a parameter of
// the current one.
func splitChallenges(header string) []challenge {
	var out []challenge
	for _, item := range splitOutsideQuotes(header, ',') {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		tok := leadingToken(item)
		rest := item[len(tok):]
		trimmed := strings.TrimLeft(rest, " \t")
		switch {
		case tok != "" && rest == "":
			out = append(out, challenge{scheme: tok, params: map[string]string{}})
			continue
		case tok != "" && len(trimmed) < len(rest) && !strings.HasPrefix(trimmed, "="):
			out = append(out, challenge{scheme: tok, params: map[string]string{}})
			item = trimmed
		}
		if len(out) == 0 {
			continue // parameters before any scheme belong to nothing
		}
		if key, value, ok := splitParam(item); ok {
			params := out[len(out)-1].params
			if _, dup := params[key]; !dup {
				params[key] = value
			}
		}
	}
	return out
}

// splitParam reads `key = value` or `key="quoted value"`; ok is false for a token68 or junk.
func splitParam(item string) (key, value string, ok bool) {
	parts := splitOutsideQuotes(item, '=')
	if len(parts) < 2 {
		return "", "", false
	}
	key = strings.ToLower(strings.TrimSpace(parts[0]))
	if key == "" || leadingToken(key) != key {
		return "", "", false
	}
	// An unquoted '=' inside the value (a query string) belongs to the value.
	value = strings.TrimSpace(item[len(parts[0])+1:])
	return key, unquote(value), true
}

// splitOutsideQuotes splits s on sep, ignoring separators inside double quotes (with
// backslash escapes). An unterminated quote runs to the end of s.
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	start, inQuotes, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case inQuotes && c == '\\':
			escaped = true
		case c == '"':
			inQuotes = !inQuotes
		case !inQuotes && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unquote strips surrounding double quotes and resolves backslash escapes; an unquoted
// value is returned as is.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return strings.Trim(v, `"`)
	}
	inner := v[1 : len(v)-1]
	if !strings.Contains(inner, `\`) {
		return inner
	}
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		if inner[i] == '\\' && i+1 < len(inner) {
			i++
		}
		b.WriteByte(inner[i])
	}
	return b.String()
}

// leadingToken returns the RFC 7230 token at the start of s.
func leadingToken(s string) string {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return s[:i]
		}
	}
	return s
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
