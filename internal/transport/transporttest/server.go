// Package transporttest starts TLS test servers that answer for real host names
// (login.microsoftonline.com, contoso.crm.dynamics.com, …) through transport's host aliases,
// with a throw-away CA, so that tests exercise the same verified-TLS path as production.
package transporttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/d365-operator/d365-operator/internal/transport"
)

// Server is an httptest TLS server whose certificate names the given hosts.
type Server struct {
	*httptest.Server
	// Pool holds the CA that signed the server's certificate.
	Pool *x509.CertPool
	// Aliases maps "host:443" of every named host to the server's address.
	Aliases map[string]string
}

// NewServer starts a TLS server (HTTP/2 enabled) answering for hosts; it is closed when t ends.
func NewServer(t testing.TB, h http.Handler, hosts ...string) *Server {
	t.Helper()
	cert, pool := issue(t, hosts)
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	aliases := make(map[string]string, len(hosts))
	for _, h := range hosts {
		aliases[net.JoinHostPort(h, "443")] = srv.Listener.Addr().String()
	}
	return &Server{Server: srv, Pool: pool, Aliases: aliases}
}

// Client returns a transport client that trusts the server's CA and reaches it by alias.
func (s *Server) Client() *http.Client {
	return transport.NewHTTPClient(transport.Options{RootCAs: s.Pool, HostAliases: s.Aliases, Timeout: 10 * time.Second})
}

// issue creates a CA and a leaf certificate for hosts (and 127.0.0.1).
func issue(t testing.TB, hosts []string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	caKey := mustKey(t)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "transporttest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("create CA: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("parse CA: %v", err)
	}

	leafKey := mustKey(t)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "transporttest"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		DNSNames:     hosts,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("create leaf: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}, pool
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return k
}
