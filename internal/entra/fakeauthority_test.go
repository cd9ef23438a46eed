package entra

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/d365-operator/d365-operator/internal/transport/transporttest"
)

// fakeAuthority serves the two endpoints MSAL Go calls (OpenID configuration, token) for
// real host names through transport's host aliases, and records every request.
type fakeAuthority struct {
	*transporttest.Server

	mu       sync.Mutex
	requests []recorded
	tokens   int

	// tokenEndpointHost, when set, is advertised as the token endpoint's host.
	tokenEndpointHost string
	// onToken, when set, answers the token POST instead of the default success.
	onToken func(w http.ResponseWriter, r *http.Request) bool
	// onConfig, when set, answers the OpenID configuration GET instead of the default.
	onConfig func(w http.ResponseWriter, r *http.Request) bool
	// gate, when set, holds token answers until it is closed.
	gate chan struct{}
}

// recorded is one request as the fake saw it.
type recorded struct {
	Method, Host, Path string
	Form               map[string][]string
	Header             http.Header
}

func newFakeAuthority(t *testing.T, hosts ...string) *fakeAuthority {
	t.Helper()
	f := &fakeAuthority{}
	if len(hosts) == 0 {
		hosts = []string{"login.microsoftonline.com", "login.evil.example"}
	}
	f.Server = transporttest.NewServer(t, http.HandlerFunc(f.serve), hosts...)
	return f
}

func (f *fakeAuthority) serve(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	_ = r.ParseForm()
	f.mu.Lock()
	f.requests = append(f.requests, recorded{Method: r.Method, Host: r.Host, Path: r.URL.Path, Form: r.PostForm, Header: r.Header.Clone()})
	onToken, onConfig, gate := f.onToken, f.onConfig, f.gate
	f.mu.Unlock()

	tenant, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch {
	case r.Method == http.MethodGet && rest == "v2.0/.well-known/openid-configuration":
		if onConfig != nil && onConfig(w, r) {
			return
		}
		tokenHost := r.Host
		if f.tokenEndpointHost != "" {
			tokenHost = f.tokenEndpointHost
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"authorization_endpoint": "https://" + r.Host + "/" + tenant + "/oauth2/v2.0/authorize",
			"token_endpoint":         "https://" + tokenHost + "/" + tenant + "/oauth2/v2.0/token",
			"issuer":                 "https://" + r.Host + "/" + tenant + "/v2.0",
		})
	case r.Method == http.MethodPost && rest == "oauth2/v2.0/token":
		if gate != nil {
			<-gate
		}
		if onToken != nil && onToken(w, r) {
			return
		}
		f.mu.Lock()
		f.tokens++
		n := f.tokens
		f.mu.Unlock()
		_, _ = fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"access-token-%d"}`, n)
	default:
		http.NotFound(w, r)
	}
}

// count returns how many requests matched method and path suffix (any when empty).
func (f *fakeAuthority) count(method, pathSuffix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if (method == "" || r.Method == method) && strings.HasSuffix(r.Path, pathSuffix) {
			n++
		}
	}
	return n
}

// all returns a copy of the recorded requests.
func (f *fakeAuthority) all() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// set changes the fake's behaviour under its lock.
func (f *fakeAuthority) set(change func(f *fakeAuthority)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// aadReply answers with an Entra ID error body.
func aadReply(status int, body string, headers ...string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, _ *http.Request) bool {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return true
	}
}
