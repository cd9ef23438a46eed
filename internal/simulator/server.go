package simulator

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// maxBodyBytes caps request bodies: token requests are small forms, and a simulator
// that reads unbounded bodies is a memory exhaustion bug in a long benchmark.
const maxBodyBytes = 1 << 20

// Server is a running simulator. All methods are safe for concurrent use.
type Server struct {
	clock  clock.PassiveClock
	world  *world
	signer *signer
	ca     *authority
	addr   string
	http   *http.Server
	client *http.Client
	log    requestLog
	faults faultList
	grants grantStore
	rate   rateWindows

	closeOnce sync.Once
	done      chan struct{}
}

// Start validates cfg, generates the CA, the serving certificate and the token
// signing key, listens and serves in the background. Close stops it.
func Start(cfg Config) (*Server, error) {
	w, err := newWorld(cfg)
	if err != nil {
		return nil, fmt.Errorf("simulator config: %w", err)
	}
	ca, err := newAuthority(cfg.CACertPEM, cfg.CAKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("simulator CA: %w", err)
	}
	sig, err := signerFor(cfg.SigningKey)
	if err != nil {
		return nil, err
	}
	cert, err := ca.serving(w.hosts())
	if err != nil {
		return nil, fmt.Errorf("simulator serving certificate: %w", err)
	}
	ln, err := listen(cfg.ListenAddr)
	if err != nil {
		return nil, err
	}
	s := &Server{clock: cfg.Clock, world: w, signer: sig, ca: ca, addr: ln.Addr().String(), done: make(chan struct{})}
	if s.clock == nil {
		s.clock = clock.RealClock{}
	}
	s.grants.init()
	s.http = s.newHTTPServer(cert, cfg.ErrorLog)
	s.client = s.newHTTPClient()
	go func() {
		defer close(s.done)
		_ = s.http.ServeTLS(ln, "", "") // returns http.ErrServerClosed on Close
	}()
	return s, nil
}

// signerFor returns the token signer of key, or of a new key when key is nil.
func signerFor(key *rsa.PrivateKey) (*signer, error) {
	key, err := rsaKey(key)
	if err != nil {
		return nil, err
	}
	sig, err := newSigner(key)
	if err != nil {
		return nil, fmt.Errorf("simulator signing key: %w", err)
	}
	return sig, nil
}

// listen opens the TCP listener, on a free loopback port when addr is empty.
func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	return net.Listen("tcp", addr)
}

// newHTTPServer serves s over TLS with cert; server errors go to errLog, or nowhere when
// it is nil.
func (s *Server) newHTTPServer(cert tls.Certificate, errLog *log.Logger) *http.Server {
	if errLog == nil {
		errLog = log.New(io.Discard, "", 0)
	}
	return &http.Server{
		Handler:           s,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errLog,
		// No WriteTimeout: a Latency fault may hold a response longer on purpose.
	}
}

// Close stops the server and drops open connections. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		_ = s.http.Close()
		<-s.done
		s.client.CloseIdleConnections()
	})
}

// Addr returns the listening address, 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.addr }

// CACertPEM returns the CA certificate, PEM encoded: what clients must trust.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.ca.pem...) }

// CertPool returns a new pool holding the simulator's CA.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.ca.cert)
	return p
}

// HostAliases maps "host:443" to Addr() for every served host: the dial table
// clients use to reach the simulator under the real host names.
func (s *Server) HostAliases() map[string]string {
	m := map[string]string{}
	for _, h := range s.world.hosts() {
		m[h+":443"] = s.addr
	}
	return m
}

// HTTPClient returns a client for tests: it trusts only the simulator's CA, dials
// every served host through the aliases (and refuses any other destination, so a
// test can never reach the real Microsoft services), with a 10 s timeout.
func (s *Server) HTTPClient() *http.Client { return s.client }

func (s *Server) newHTTPClient() *http.Client {
	aliases := s.HostAliases()
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			target, ok := aliases[strings.ToLower(addr)]
			if !ok && addr != s.addr {
				return nil, fmt.Errorf("d365-simulator client: %s is not served by the simulator", addr)
			}
			if !ok {
				target = addr
			}
			return d.DialContext(ctx, network, target)
		},
		TLSClientConfig:     &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// Now returns the simulator's current time (Config.Clock).
func (s *Server) Now() time.Time { return s.now() }

func (s *Server) now() time.Time { return s.clock.Now() }

// hostOf returns the request's Host without port, lower-case.
func hostOf(r *http.Request) string {
	h := r.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// statusRecorder remembers the response status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// ServeHTTP logs the request, applies faults and routes by Host: environment hosts
// to the Dataverse handlers, authority and extra hosts to the Entra ID handlers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	host := hostOf(r)
	entry := Request{Time: s.now(), Host: host, Method: r.Method, Path: r.URL.Path}
	defer func() {
		entry.Status = rec.status
		if entry.Status == 0 {
			entry.Status = http.StatusOK
		}
		s.log.add(entry)
	}()
	r.Body = http.MaxBytesReader(rec, r.Body, maxBodyBytes)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); r.Method == http.MethodPost && ct == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil { //nolint:gosec // r.Body is a MaxBytesReader (above)
			status := http.StatusBadRequest
			if mbe := new(http.MaxBytesError); errors.As(err, &mbe) {
				status = http.StatusRequestEntityTooLarge
			}
			http.Error(rec, http.StatusText(status), status)
			return
		}
		entry.Grant = r.PostForm.Get("grant_type")
		entry.ClientID = r.PostForm.Get("client_id")
	}
	if user, _, ok := r.BasicAuth(); ok && entry.ClientID == "" {
		entry.ClientID, _ = url.QueryUnescape(user)
	}
	if tok, ok := bearerToken(r); ok {
		entry.ClientID = unverifiedClaim(tok, "appid")
	}
	if f, ok := s.faults.take(s.now(), host, r.URL.Path); ok {
		if !sleep(r.Context(), f.Latency) {
			rec.status = 499 // the client went away during the delay
			return
		}
		if f.Status != 0 {
			s.writeFault(rec, r, f)
			return
		}
	}
	if env, ok := s.world.environment(host); ok {
		s.serveDataverse(rec, r, env)
		return
	}
	if s.world.isAuthorityHost(host) {
		s.serveEntra(rec, r, host)
		return
	}
	http.Error(rec, "d365-simulator: unknown host "+host, http.StatusMisdirectedRequest)
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header; ok is
// false when there is no such header or the token is empty.
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
