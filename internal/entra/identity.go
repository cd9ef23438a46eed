package entra

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/d365-operator/d365-operator/internal/environment"
)

// Identity is an application (or later, a user) at an authority, with its credential.
type Identity struct {
	// Authority is "https://<login host>/<tenant>/".
	Authority string
	// ClientID is the application (client) id.
	ClientID string
	// Credential proves the identity; see ClientSecret.
	Credential Credential
	// ClientIDShown names the client ID in messages when it must not be quoted (it was read
	// from a Secret), e.g. `the client ID in Secret "app" key "id"`; empty: the ID itself.
	ClientIDShown string
}

// clientIDShown is how messages name the client ID.
func (i Identity) clientIDShown() string {
	if i.ClientIDShown != "" {
		return i.ClientIDShown
	}
	return "the client ID " + i.ClientID
}

// keyVersion changes when the key's inputs change, so old annotations stop matching.
const keyVersion = "d365-operator/entra/identity/v1"

// Key returns a hex SHA-256 over the authority, the client id and the credential's kind and
// material. It is stable across restarts (so a stored token can be matched to its identity),
// changes when any input changes (a rotated secret is a new identity), and reveals nothing:
// it is safe to store in an annotation.
func (i Identity) Key() string {
	h := sha256.New()
	writeField(h, keyVersion)
	writeField(h, canonicalAuthority(i.Authority))
	writeField(h, i.ClientID)
	if i.Credential != nil {
		writeField(h, i.Credential.kind())
		i.Credential.writeMaterial(h)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeField writes a length-prefixed field, so that ("ab","c") and ("a","bc") differ.
func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	_, _ = h.Write(n[:])
	_, _ = h.Write([]byte(s))
}

// canonicalAuthority is environment.ParseAuthority's spelling, so that spellings of one
// authority share a key and an MSAL client; unusable input is kept as is.
func canonicalAuthority(raw string) string {
	a, err := environment.ParseAuthority(raw)
	if err != nil {
		return raw
	}
	return a.String()
}

// Token is an access token and when it was issued and expires, on the provider's clock.
type Token struct {
	// AccessToken is the bare JWT. Never log it.
	AccessToken string
	// IssuedAt is when the provider received the token, rounded down to the second.
	IssuedAt time.Time
	// ExpiresOn is IssuedAt plus the lifetime Entra ID granted, in whole seconds.
	ExpiresOn time.Time
}

// Lifetime is the validity Entra ID granted: ExpiresOn minus IssuedAt.
func (t Token) Lifetime() time.Duration {
	return t.ExpiresOn.Sub(t.IssuedAt)
}

// String describes the token without its value, so that logging one is harmless.
func (t Token) String() string {
	return fmt.Sprintf("Token(issued %s, expires %s)", t.IssuedAt.UTC().Format(time.RFC3339), t.ExpiresOn.UTC().Format(time.RFC3339))
}

// GoString keeps the token out of %#v output.
func (t Token) GoString() string {
	return "entra." + t.String()
}

// scopeFor returns the client-credentials scope for resource: "<resource>/.default" with
// exactly one slash ("https://contoso.crm.dynamics.com/" → "https://contoso.crm.dynamics.com/.default").
func scopeFor(resource string) string {
	return strings.TrimSuffix(resource, "/") + "/.default"
}
