package simulator

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint (RFC 7515)
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// JWTs are built and checked by hand (a few dozen lines) rather than with a library:
// the simulator must control the exact header (typ, alg, x5t, kid, in Entra's order)
// and must verify the algorithms clients really use — RS256 for Entra tokens and
// Kubernetes service-account tokens, PS256 for MSAL certificate assertions, ES256 for
// other issuers.

var b64 = base64.RawURLEncoding

// jwtHeader is the JOSE header; field order matches Entra ID's tokens.
type jwtHeader struct {
	Typ     string   `json:"typ,omitempty"`
	Alg     string   `json:"alg"`
	X5t     string   `json:"x5t,omitempty"`
	Kid     string   `json:"kid,omitempty"`
	X5tS256 string   `json:"x5t#S256,omitempty"`
	X5c     []string `json:"x5c,omitempty"`
}

// signer signs the simulator's tokens with its RSA key. Like Entra ID, the key comes
// with a self-signed certificate (published as x5c) and its SHA-1 thumbprint is both
// x5t and kid.
type signer struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	kid  string
}

func newSigner(key *rsa.PrivateKey) (*signer, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "accounts.accesscontrol.windows.net (d365-simulator)"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(der) //nolint:gosec // x5t is a SHA-1 thumbprint
	return &signer{key: key, cert: cert, kid: b64.EncodeToString(sum[:])}, nil
}

// sign returns a compact RS256 JWS of claims.
func (s *signer) sign(claims any) (string, error) {
	h, err := json.Marshal(jwtHeader{Typ: "JWT", Alg: "RS256", X5t: s.kid, Kid: s.kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// verify checks a token's signature against the simulator key and decodes its claims.
// It does not check times or audience: callers decide what they require.
func (s *signer) verify(raw string, claims any) error {
	tok, err := parseJWT(raw)
	if err != nil {
		return err
	}
	if tok.header.Kid != "" && tok.header.Kid != s.kid {
		return errUnknownKey
	}
	if tok.header.Alg != "RS256" {
		return fmt.Errorf("unexpected algorithm %q", tok.header.Alg)
	}
	if err := tok.verifySignature(&s.key.PublicKey); err != nil {
		return err
	}
	return tok.decodeClaims(claims)
}

var errUnknownKey = errors.New("signing key not found")

// jwt is a parsed, not yet verified compact JWS.
type jwt struct {
	header  jwtHeader
	payload []byte
	input   string // header.payload, the signed bytes
	sig     []byte
}

func parseJWT(raw string) (*jwt, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("JWT must have three segments")
	}
	h, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("JWT header: %w", err)
	}
	t := &jwt{input: parts[0] + "." + parts[1]}
	if err := json.Unmarshal(h, &t.header); err != nil {
		return nil, fmt.Errorf("JWT header: %w", err)
	}
	if t.payload, err = b64.DecodeString(parts[1]); err != nil {
		return nil, fmt.Errorf("JWT payload: %w", err)
	}
	if t.sig, err = b64.DecodeString(parts[2]); err != nil {
		return nil, fmt.Errorf("JWT signature: %w", err)
	}
	return t, nil
}

// decodeClaims unmarshals the payload; numbers stay json.Number in maps.
func (t *jwt) decodeClaims(v any) error {
	d := json.NewDecoder(bytes.NewReader(t.payload))
	d.UseNumber()
	return d.Decode(v)
}

// verifySignature checks the signature with pub for the header's algorithm.
func (t *jwt) verifySignature(pub crypto.PublicKey) error {
	var h crypto.Hash
	switch t.header.Alg {
	case "RS256", "PS256", "ES256":
		h = crypto.SHA256
	case "RS384", "PS384", "ES384":
		h = crypto.SHA384
	case "RS512", "PS512", "ES512":
		h = crypto.SHA512
	default:
		return fmt.Errorf("unsupported algorithm %q", t.header.Alg)
	}
	digest := hashOf(h, []byte(t.input))
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if t.header.Alg[0] == 'R' {
			return rsa.VerifyPKCS1v15(k, h, digest, t.sig)
		}
		if t.header.Alg[0] == 'P' {
			return rsa.VerifyPSS(k, h, digest, t.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
	case *ecdsa.PublicKey:
		if t.header.Alg[0] == 'E' {
			n := len(t.sig) / 2
			if n == 0 || len(t.sig)%2 != 0 {
				return errors.New("malformed ECDSA signature")
			}
			r, s := new(big.Int).SetBytes(t.sig[:n]), new(big.Int).SetBytes(t.sig[n:])
			if ecdsa.Verify(k, digest, r, s) {
				return nil
			}
			return errors.New("ECDSA signature verification failed")
		}
	}
	return fmt.Errorf("algorithm %q does not fit key type %T", t.header.Alg, pub)
}

func hashOf(h crypto.Hash, data []byte) []byte {
	switch h {
	case crypto.SHA384:
		s := sha512.Sum384(data)
		return s[:]
	case crypto.SHA512:
		s := sha512.Sum512(data)
		return s[:]
	default:
		s := sha256.Sum256(data)
		return s[:]
	}
}

// numericDate reads a JWT NumericDate claim (exp, nbf, iat) from decoded claims.
func numericDate(claims map[string]any, name string) (time.Time, bool) {
	n, ok := claims[name].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// audiences reads the aud claim, a string or an array of strings.
func audiences(claims map[string]any) []string {
	switch v := claims["aud"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, a := range v {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// unverifiedClaim reads one string claim without checking the signature. Only for
// the request log, never for a decision.
func unverifiedClaim(raw, name string) string {
	t, err := parseJWT(raw)
	if err != nil {
		return ""
	}
	var m map[string]any
	if t.decodeClaims(&m) != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}
