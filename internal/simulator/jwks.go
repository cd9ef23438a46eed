package simulator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// jwk is one JSON Web Key, in the field order of Entra ID's keys documents.
type jwk struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use,omitempty"`
	Kid    string   `json:"kid,omitempty"`
	X5t    string   `json:"x5t,omitempty"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
	X5c    []string `json:"x5c,omitempty"`
	Issuer string   `json:"issuer,omitempty"`
}

// jwks is the keys document of the simulator's token-signing key. issuer is the v2
// issuer template Entra ID puts on each key of a tenant-independent document.
func (s *signer) jwks(issuer string) map[string][]jwk {
	pub := s.key.PublicKey
	return map[string][]jwk{"keys": {{
		Kty:    "RSA",
		Use:    "sig",
		Kid:    s.kid,
		X5t:    s.kid,
		N:      b64.EncodeToString(pub.N.Bytes()),
		E:      b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		X5c:    []string{base64.StdEncoding.EncodeToString(s.cert.Raw)},
		Issuer: issuer,
	}}}
}

// parseJWKS returns the RSA and EC signature keys of a JWKS document (e.g. a
// Kubernetes API server's /openid/v1/jwks). Keys of other types are skipped.
func parseJWKS(doc []byte) ([]crypto.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, err
	}
	var out []crypto.PublicKey
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		var pub crypto.PublicKey
		var err error
		switch k.Kty {
		case "RSA":
			pub, err = rsaPublicKey(k)
		case "EC":
			pub, err = ecPublicKey(k)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys[%d]: %w", i, err)
		}
		out = append(out, pub)
	}
	if len(out) == 0 {
		return nil, errors.New("no usable signature key")
	}
	return out, nil
}

// rsaPublicKey decodes the modulus and exponent of an RSA JWK.
func rsaPublicKey(k jwk) (*rsa.PublicKey, error) {
	n, err1 := b64.DecodeString(k.N)
	e, err2 := b64.DecodeString(k.E)
	if err := errors.Join(err1, err2); err != nil || len(n) == 0 || len(e) == 0 {
		return nil, errors.New("malformed RSA key")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
}

// ecPublicKey decodes an EC JWK and checks that its point is on the curve.
func ecPublicKey(k jwk) (*ecdsa.PublicKey, error) {
	curve, err := ecCurve(k.Crv)
	if err != nil {
		return nil, err
	}
	x, err1 := b64.DecodeString(k.X)
	y, err2 := b64.DecodeString(k.Y)
	if err := errors.Join(err1, err2); err != nil {
		return nil, errors.New("malformed EC key")
	}
	// ParseUncompressedPublicKey validates the point; it wants 0x04 || X || Y, each
	// coordinate left-padded to the curve's size.
	size := (curve.Params().BitSize + 7) / 8
	if len(x) > size || len(y) > size {
		return nil, errors.New("malformed EC key")
	}
	point := make([]byte, 1+2*size)
	point[0] = 4
	copy(point[1+size-len(x):1+size], x)
	copy(point[1+2*size-len(y):], y)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, fmt.Errorf("invalid EC key: %w", err)
	}
	return pub, nil
}

// ecCurve returns the NIST curve a JWK's crv names.
func ecCurve(crv string) (elliptic.Curve, error) {
	switch crv {
	case "P-256":
		return elliptic.P256(), nil
	case "P-384":
		return elliptic.P384(), nil
	case "P-521":
		return elliptic.P521(), nil
	}
	return nil, fmt.Errorf("unsupported curve %q", crv)
}
