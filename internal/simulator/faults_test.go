package simulator

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	s, clk := startSim(t)
	tok := secretToken(t, s, DemoClientID, "https://"+DemoEnvironmentHost)

	// Entra: two throttled token requests, then normal service.
	s.InjectFault(Fault{Host: "login.microsoftonline.com", PathPrefix: "/" + DemoTenantID + "/oauth2/", Status: 429, RetryAfter: "7", Count: 2})
	for i := range 2 {
		r := do(t, s, http.MethodPost, v2TokenURL, ccForm(DemoClientID, DemoClientSecret, demoScope), nil)
		if r.status != 429 || r.header.Get("Retry-After") != "7" || r.body != "Too Many Requests" {
			t.Fatalf("entra fault %d: %d %q %q", i, r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	if r := do(t, s, http.MethodPost, v2TokenURL, ccForm(DemoClientID, DemoClientSecret, demoScope), nil); r.status != 200 {
		t.Fatalf("after the fault: %d", r.status)
	}
	if n := s.CountRequests(func(r Request) bool { return r.Status == 429 && r.Grant == "client_credentials" }); n != 2 {
		t.Errorf("logged 429s = %d", n)
	}

	// Dataverse: throttled until a deadline of the fake clock.
	s.InjectFault(Fault{Host: DemoEnvironmentHost, Status: 429, RetryAfter: "3", Until: clk.Now().Add(time.Minute)})
	r := whoAmI(t, s, DemoEnvironmentHost, tok)
	if r.status != 429 || r.header.Get("Retry-After") != "3" ||
		r.body != `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}` {
		t.Errorf("dataverse fault: %d %s", r.status, r.body)
	}
	clk.Step(time.Minute)
	if r := whoAmI(t, s, DemoEnvironmentHost, tok); r.status != 200 {
		t.Errorf("after Until: %d", r.status)
	}

	// A JSON body given by the test; 5xx defaults.
	s.InjectFault(Fault{Status: 429, Body: `{"error":"temporarily_unavailable"}`, Count: 1})
	if r := whoAmI(t, s, DemoEnvironmentHost, tok); r.header.Get("Content-Type") != "application/json; charset=utf-8" || r.body != `{"error":"temporarily_unavailable"}` {
		t.Errorf("custom body: %q %q", r.header.Get("Content-Type"), r.body)
	}
	s.InjectFault(Fault{Host: "login.microsoftonline.com", Status: 503, Count: 1})
	expectEntraError(t, do(t, s, http.MethodPost, v2TokenURL, ccForm(DemoClientID, DemoClientSecret, demoScope), nil), 503, "temporarily_unavailable", 90033)

	// Latency only, then the client gives up.
	s.InjectFault(Fault{Host: DemoEnvironmentHost, Latency: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+DemoEnvironmentHost+"/api/data/v9.2/WhoAmI", nil)
	if resp, err := s.HTTPClient().Do(req); err == nil {
		_ = resp.Body.Close()
		t.Error("latency fault did not delay")
	}
	s.ClearFaults()
	if r := whoAmI(t, s, DemoEnvironmentHost, tok); r.status != 200 {
		t.Errorf("after ClearFaults: %d", r.status)
	}
}

func TestRequestLogBounded(t *testing.T) {
	var l requestLog
	for i := range maxLoggedRequests + 5 {
		l.add(Request{Status: i})
	}
	got := l.snapshot()
	if len(got) != maxLoggedRequests || got[0].Status != 5 || got[len(got)-1].Status != maxLoggedRequests+4 {
		t.Errorf("len %d first %d last %d", len(got), got[0].Status, got[len(got)-1].Status)
	}
}
