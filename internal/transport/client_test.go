package transport_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/transport/transporttest"
)

func TestAliasedHostIsReachedWithVerifiedTLS(t *testing.T) {
	srv := transporttest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen", r.Host+" "+r.Proto)
		w.WriteHeader(http.StatusNoContent)
	}), "contoso.crm.dynamics.com")

	resp, err := srv.Client().Get("https://contoso.crm.dynamics.com/api/data/v9.2/")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	_ = resp.Body.Close()
	if got := resp.Header.Get("X-Seen"); got != "contoso.crm.dynamics.com HTTP/2.0" {
		t.Errorf("server saw %q, want the real host name over HTTP/2", got)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("TLS state %+v, want TLS 1.2 or later", resp.TLS)
	}
}

func TestCertificatesAreVerified(t *testing.T) {
	srv := transporttest.NewServer(t, http.NotFoundHandler(), "contoso.crm.dynamics.com")
	tests := []struct {
		name string
		opts transport.Options
		url  string
	}{
		{"a certificate from an unknown CA is refused", transport.Options{HostAliases: srv.Aliases}, "https://contoso.crm.dynamics.com/"},
		{"a certificate that does not name the host is refused", transport.Options{RootCAs: srv.Pool, HostAliases: map[string]string{"other.crm.dynamics.com:443": srv.Listener.Addr().String()}}, "https://other.crm.dynamics.com/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := transport.NewHTTPClient(tc.opts).Get(tc.url)
			if err == nil {
				_ = resp.Body.Close()
				t.Fatal("request succeeded, want a TLS verification error")
			}
			if !strings.Contains(err.Error(), "certificate") {
				t.Errorf("error %q, want a certificate error", err)
			}
		})
	}
}

func TestTLSBelow12IsRefused(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{MaxVersion: tls.VersionTLS11} //nolint:gosec // the point of the test: an outdated server
	srv.StartTLS()
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs

	resp, err := transport.NewHTTPClient(transport.Options{RootCAs: pool}).Get(srv.URL)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("TLS 1.1 handshake succeeded, want refusal")
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	srv := transporttest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			t.Error("the redirect was followed")
		}
		http.Redirect(w, r, "/moved", http.StatusTemporaryRedirect)
	}), "login.microsoftonline.com")

	resp, err := srv.Client().Post("https://login.microsoftonline.com/t/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader("client_secret=x"))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("status %d, want the 307 itself", resp.StatusCode)
	}
}

func TestResponseBodiesAreCapped(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"a body of exactly the cap is read whole", transport.MaxResponseBytes, false},
		{"a body one byte over the cap fails", transport.MaxResponseBytes + 1, true},
		{"a huge body fails", 8 * transport.MaxResponseBytes, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := transporttest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write(make([]byte, tc.size))
			}), "contoso.crm.dynamics.com")
			resp, err := srv.Client().Get("https://contoso.crm.dynamics.com/")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			defer func() { _ = resp.Body.Close() }()
			// io.ReadAll, as MSAL does: the cap must hold even without ReadBody.
			b, err := io.ReadAll(resp.Body)
			if tc.wantErr != errors.Is(err, transport.ErrBodyTooLarge) {
				t.Fatalf("io.ReadAll error %v, want too-large=%v", err, tc.wantErr)
			}
			if !tc.wantErr && len(b) != tc.size {
				t.Errorf("read %d bytes, want %d", len(b), tc.size)
			}
		})
	}
}

func TestReadBody(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"an empty body is fine", 0, false},
		{"a body at the cap is fine", transport.MaxResponseBytes, false},
		{"a body over the cap is an error", transport.MaxResponseBytes + 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := transport.ReadBody(strings.NewReader(strings.Repeat("a", tc.size)))
			if tc.wantErr != errors.Is(err, transport.ErrBodyTooLarge) {
				t.Fatalf("error %v, want too-large=%v", err, tc.wantErr)
			}
			if len(b) > transport.MaxResponseBytes {
				t.Errorf("returned %d bytes, more than the cap", len(b))
			}
		})
	}
}

func TestTimeoutBoundsASlowServer(t *testing.T) {
	release := make(chan struct{})
	srv := transporttest.NewServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		<-release
	}), "contoso.crm.dynamics.com")
	defer close(release)

	c := transport.NewHTTPClient(transport.Options{RootCAs: srv.Pool, HostAliases: srv.Aliases, Timeout: 200 * time.Millisecond})
	start := time.Now()
	resp, err := c.Get("https://contoso.crm.dynamics.com/")
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("request succeeded, want a timeout")
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("timed out after %v, want about 200ms", elapsed)
	}
}

func TestAliasedHostsBypassTheProxy(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	srv := transporttest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), "contoso.crm.dynamics.com")

	resp, err := srv.Client().Get("https://contoso.crm.dynamics.com/")
	if err != nil {
		t.Fatalf("GET through an alias with a proxy configured: %v", err)
	}
	_ = resp.Body.Close()
}
