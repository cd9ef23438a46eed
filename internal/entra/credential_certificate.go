package entra

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"hash"
	"net/http"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// ClientCertificate returns a client-credentials credential that signs MSAL's client
// assertion with key. MSAL Go signs with RSA only (PS256), so key must be an
// *rsa.PrivateKey, and one of certs must hold its public key; otherwise the error is an
// *Error of kind InvalidCredential that says why.
func ClientCertificate(certs []*x509.Certificate, key crypto.PrivateKey) (Credential, error) {
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, invalidCredential("The private key is %s; Entra ID client assertions from MSAL Go are signed with RSA only: issue an RSA certificate (2048 bits or more)", keyKind(key))
	}
	var leaf *x509.Certificate
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&rsaKey.PublicKey) {
			leaf = c
			break
		}
	}
	if leaf == nil {
		return nil, invalidCredential("No certificate in the chain matches the private key: tls.crt and tls.key must belong together")
	}
	// The certificate matching the key goes first, as MSAL puts it in x5c.
	ordered := []*x509.Certificate{leaf}
	for _, c := range certs {
		if c != leaf {
			ordered = append(ordered, c)
		}
	}
	return &clientCertificate{certs: ordered, key: rsaKey}, nil
}

// ClientCertificateFromPEM parses a kubernetes.io/tls Secret's tls.crt (PEM certificates,
// the leaf first or anywhere) and tls.key (an unencrypted PKCS #1 or PKCS #8 RSA key) and
// returns ClientCertificate's credential. Unusable input is an *Error of kind
// InvalidCredential that says what to change; it never quotes the key.
func ClientCertificateFromPEM(certPEM, keyPEM []byte) (Credential, error) {
	var certs []*x509.Certificate
	for rest := certPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, invalidCredential("tls.crt holds a certificate that cannot be parsed: %v", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, invalidCredential("tls.crt holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	key, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	return ClientCertificate(certs, key)
}

// parsePrivateKeyPEM reads the first private key block of tls.key.
func parsePrivateKeyPEM(keyPEM []byte) (crypto.PrivateKey, error) {
	for rest := keyPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, invalidCredential("tls.key holds no PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
		}
		_, legacyEncrypted := block.Headers["DEK-Info"]
		switch {
		case block.Type == "ENCRYPTED PRIVATE KEY" || legacyEncrypted:
			return nil, invalidCredential("tls.key is encrypted; store the key unencrypted in the kubernetes.io/tls Secret (as cert-manager does), e.g. openssl pkcs8 -topk8 -nocrypt -in encrypted.key -out tls.key")
		case block.Type == "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, invalidCredential("tls.key's RSA PRIVATE KEY cannot be parsed")
			}
			return k, nil
		case block.Type == "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, invalidCredential("tls.key's PRIVATE KEY cannot be parsed as PKCS #8")
			}
			return k, nil
		case block.Type == "EC PRIVATE KEY":
			return nil, invalidCredential("The private key is ECDSA; Entra ID client assertions from MSAL Go are signed with RSA only: issue an RSA certificate (2048 bits or more)")
		}
	}
}

// keyKind names a key's algorithm for messages.
func keyKind(key crypto.PrivateKey) string {
	switch key.(type) {
	case *ecdsa.PrivateKey:
		return "ECDSA"
	case ed25519.PrivateKey:
		return "Ed25519"
	case nil:
		return "missing"
	}
	return fmt.Sprintf("of type %T", key)
}

func invalidCredential(format string, args ...any) *Error {
	return &Error{Kind: InvalidCredential, Message: fmt.Sprintf(format, args...)}
}

// clientCertificate is OAuth 2.0 client credentials with a certificate-signed assertion
// (private_key_jwt), signed by MSAL.
type clientCertificate struct {
	certs []*x509.Certificate // the key's certificate first
	key   *rsa.PrivateKey
}

func (*clientCertificate) kind() string { return "ClientCertificate" }

// writeMaterial hashes the certificates and the key: a renewed certificate (cert-manager
// rotates the Secret) is a new identity, so the next reconcile gets a token with it at once.
func (c *clientCertificate) writeMaterial(h hash.Hash) {
	for _, cert := range c.certs {
		writeField(h, string(cert.Raw))
	}
	writeField(h, string(x509.MarshalPKCS1PrivateKey(c.key)))
}

func (c *clientCertificate) newClient(authority, clientID string, hc *http.Client) (*msalClient, error) {
	cred, err := confidential.NewCredFromCert(c.certs, c.key)
	if err != nil {
		return nil, err
	}
	return newConfidential(authority, clientID, cred, hc, emptyCache{})
}

func (*clientCertificate) acquire(ctx context.Context, c *msalClient, scopes []string) (AuthResult, error) {
	return c.confidential.AcquireTokenByCredential(ctx, scopes)
}

// secrets: the key never reaches a message; its PEM forms are listed as insurance.
func (c *clientCertificate) secrets() []string {
	der := x509.MarshalPKCS1PrivateKey(c.key)
	return []string{strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})))}
}

// explain turns the assertion refusals into CertificateRejected, naming the certificate.
func (c *clientCertificate) explain(e *Error, id Identity) string {
	switch e.AADSTS {
	case 700027, 700021, 700023, 700024:
		e.Kind = CertificateRejected
		// The certificate's thumbprint, subject and dates are not quoted: they come from a
		// Secret, which the connection's author may not be allowed to read.
		return fmt.Sprintf("Upload the certificate in the Secret's tls.crt to the app with %s under Certificates & secrets, or put a certificate the app already has in the Secret.",
			id.clientIDShown())
	}
	return ""
}

// String keeps the key out of logs and %v output.
func (c *clientCertificate) String() string { return "ClientCertificate(redacted)" }

// GoString keeps the key out of %#v output.
func (c *clientCertificate) GoString() string { return "entra." + c.String() }
