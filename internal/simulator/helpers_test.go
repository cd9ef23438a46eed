package simulator

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

// One token-signing key for all tests: generating RSA keys is the slowest part of
// Start.
var testSigningKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// startSim starts the demo world with a fake clock set to now.
func startSim(t *testing.T, mutate ...func(*Config)) (*Server, *testingclock.FakeClock) {
	t.Helper()
	clk := testingclock.NewFakeClock(time.Now())
	cfg := DefaultConfig()
	cfg.Clock = clk
	cfg.SigningKey = testSigningKey()
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)
	return s, clk
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request through the simulator's client. It never logs bodies: they may
// hold tokens.
func do(t *testing.T, s *Server, method, rawURL string, form url.Values, header map[string]string) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func whoAmI(t *testing.T, s *Server, host, token string) response {
	t.Helper()
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return do(t, s, http.MethodGet, "https://"+host+"/api/data/v9.2/WhoAmI", nil, h)
}

// secretToken gets an app token with the demo secret from the v2 endpoint.
func secretToken(t *testing.T, s *Server, clientID, resource string) string {
	t.Helper()
	r := do(t, s, http.MethodPost, "https://login.microsoftonline.com/"+DemoTenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {DemoClientSecret},
		"scope": {resource + "/.default"},
	}, nil)
	if r.status != 200 {
		t.Fatalf("token: status %d, error %s", r.status, errorCode(r.body))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(r.body), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token response without access_token (%v)", err)
	}
	return tok.AccessToken
}

// errorCode extracts the error and AADSTS codes of an Entra error body for
// messages: never the whole body.
func errorCode(body string) string {
	var e struct {
		Error      string `json:"error"`
		ErrorCodes []int  `json:"error_codes"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	b, _ := json.Marshal(e)
	return string(b)
}

// entraError decodes an Entra error body strictly: error_codes must be numbers.
type entraErr struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
	Suberror         string `json:"suberror"`
}

func decodeEntraError(t *testing.T, r response) entraErr {
	t.Helper()
	var e entraErr
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body is not Entra JSON: %v", err)
	}
	return e
}

func expectEntraError(t *testing.T, r response, status int, code string, aadsts int) entraErr {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d (%s)", r.status, status, errorCode(r.body))
	}
	e := decodeEntraError(t, r)
	if e.Error != code || len(e.ErrorCodes) != 1 || e.ErrorCodes[0] != aadsts {
		t.Fatalf("error = %s %v, want %s [%d]", e.Error, e.ErrorCodes, code, aadsts)
	}
	return e
}
