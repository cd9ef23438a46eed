package simulator

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault makes matching requests fail (or slow down) instead of being served, to test
// throttling, outages and retries.
type Fault struct {
	// Host limits the fault to one host (without port); empty matches any host.
	Host string
	// PathPrefix limits the fault to paths with this prefix (case-insensitive);
	// empty matches any path.
	PathPrefix string
	// Status is the HTTP status to answer with; 0 only adds Latency and then serves
	// the request normally.
	Status int
	// RetryAfter is the Retry-After header value (e.g. "7"); empty sends none.
	RetryAfter string
	// Body is the response body; empty means a faithful default for the status and
	// host kind: Entra ID answers 429 with plain "Too Many Requests" and 5xx with its
	// JSON error; Dataverse answers 429 with OData error 0x80072322, 401 with the
	// bearer challenge, other statuses with an OData error.
	Body string
	// Count applies the fault to the next Count matching requests; 0 is unlimited
	// (until Until).
	Count int
	// Until ends the fault at this time (by Config.Clock); zero means no deadline.
	Until time.Time
	// Latency delays the response, in real time (a fake clock does not advance by
	// itself). The delay ends early if the client gives up.
	Latency time.Duration
}

// faultList holds the injected faults in order; the first match wins.
type faultList struct {
	mu     sync.Mutex
	faults []*activeFault
}

type activeFault struct {
	Fault
	remaining int // for Count > 0
}

// InjectFault adds a fault. Faults apply to matching requests in the order they were
// injected: a request is answered by the first fault that matches it.
func (s *Server) InjectFault(f Fault) {
	f.Host = strings.ToLower(f.Host)
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = append(s.faults.faults, &activeFault{Fault: f, remaining: f.Count})
}

// ClearFaults removes all faults.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = nil
}

// take returns the fault that applies to a request and uses up one of its count.
func (l *faultList) take(now time.Time, host, path string) (Fault, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	path = strings.ToLower(path)
	for i := 0; i < len(l.faults); i++ {
		f := l.faults[i]
		if !f.Until.IsZero() && !now.Before(f.Until) {
			l.faults = append(l.faults[:i:i], l.faults[i+1:]...) // expired
			i--
			continue
		}
		if (f.Host != "" && f.Host != host) || !strings.HasPrefix(path, strings.ToLower(f.PathPrefix)) {
			continue
		}
		if f.Count > 0 {
			f.remaining--
			if f.remaining <= 0 {
				l.faults = append(l.faults[:i:i], l.faults[i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}

// sleep waits d in real time or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeFault answers a request with the fault's status and body.
func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	host := hostOf(r)
	if f.Body != "" {
		ct := "text/plain; charset=utf-8"
		if strings.HasPrefix(strings.TrimSpace(f.Body), "{") {
			ct = "application/json; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	if env, ok := s.world.environment(host); ok {
		s.writeDataverseFault(w, env, f.Status)
		return
	}
	if f.Status == http.StatusTooManyRequests || !s.world.isAuthorityHost(host) {
		// Entra ID's observed 429 body is plain text (protocol reference §2.7).
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(http.StatusText(f.Status)))
		return
	}
	e := oauthError{status: f.Status, code: "invalid_request", aadsts: 90014,
		message: "The request was rejected by a simulated fault."}
	switch {
	case f.Status == http.StatusServiceUnavailable:
		e.code, e.aadsts, e.message = "temporarily_unavailable", 90033, "A transient error has occurred. Please try again."
	case f.Status >= 500:
		e.code, e.aadsts, e.message = "server_error", 50000, "There was an error issuing a token or an issue with our sign-in service."
	}
	s.writeOAuthError(w, r, &e)
}
