// Package transport builds the hardened HTTP clients the operator uses to talk to Entra ID
// and Dataverse: verified TLS (1.2 or later), timeouts on every phase, capped response
// bodies, no redirects, and an optional host-alias map so that local simulators and tests
// can answer for real host names while TLS is still verified against the real name.
package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds a whole request (connect, TLS, headers and body) when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Options configures NewHTTPClient.
type Options struct {
	// RootCAs verifies server certificates; nil means the system pool (SSL_CERT_FILE works).
	RootCAs *x509.CertPool
	// HostAliases maps "host:port" to the "ip:port" dialed instead (local simulators, tests).
	// TLS still verifies the certificate against the original host name.
	HostAliases map[string]string
	// Timeout bounds a whole request; zero means DefaultTimeout.
	Timeout time.Duration
}

// NewHTTPClient returns an *http.Client for Entra ID and Dataverse. Certificates are always
// verified, redirects are never followed (a redirect must not carry a token request's form
// body, or an Authorization header, to another place) and every response body is capped at
// MaxResponseBytes.
func NewHTTPClient(o Options) *http.Client {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	aliases := normalizeAliases(o.HostAliases)
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}

	base := &http.Transport{
		Proxy: func(req *http.Request) (*url.URL, error) {
			// An aliased host is local by definition: a proxy would resolve the real name.
			if _, ok := aliases[hostPort(req.URL)]; ok {
				return nil, nil
			}
			return http.ProxyFromEnvironment(req)
		},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if target, ok := aliases[strings.ToLower(addr)]; ok {
				addr = target
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    o.RootCAs,
		},
		// A custom TLS config turns HTTP/2 off unless asked for; both servers speak it.
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		// Thousands of connections share a handful of hosts (login host, a few environments).
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 32,
	}
	return &http.Client{
		Transport: &cappedTransport{base: base},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// hostPort returns u's "host:port" with the scheme's default port filled in, lower-cased.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return strings.ToLower(net.JoinHostPort(u.Hostname(), port))
}

// normalizeAliases lower-cases the keys so that lookups ignore host-name case.
func normalizeAliases(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[strings.ToLower(k)] = v
	}
	return out
}

// cappedTransport caps every response body at MaxResponseBytes, so that even a reader that
// does not use ReadBody (MSAL reads bodies with io.ReadAll) cannot be made to buffer an
// unbounded answer.
type cappedTransport struct {
	base *http.Transport
}

// RoundTrip implements http.RoundTripper.
func (t *cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{rc: resp.Body, remaining: MaxResponseBytes}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections (which MSAL calls) reach the pool.
func (t *cappedTransport) CloseIdleConnections() {
	t.base.CloseIdleConnections()
}
