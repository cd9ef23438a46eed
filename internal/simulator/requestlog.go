package simulator

import (
	"sync"
	"time"
)

// maxLoggedRequests bounds the request log: a long benchmark must not grow memory
// without limit. The oldest entries are dropped first.
const maxLoggedRequests = 100_000

// Request is one entry of the request log. It never holds a secret, password,
// token, assertion or code: only what tests need to count and assert on calls.
type Request struct {
	// Time is when the request arrived, by Config.Clock.
	Time time.Time
	// Host is the Host header without port, lower-case.
	Host string
	// Method is the HTTP method.
	Method string
	// Path is the URL path, without the query.
	Path string
	// Grant is the form's grant_type of token requests.
	Grant string
	// ClientID is the form's client_id (or HTTP Basic user) of token requests, and
	// the appid claim of the bearer token on Dataverse requests.
	ClientID string
	// Status is the HTTP status of the response.
	Status int
}

// requestLog is a bounded ring of Requests.
type requestLog struct {
	mu    sync.Mutex
	buf   []Request
	start int // index of the oldest entry once the ring is full
}

func (l *requestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) < maxLoggedRequests {
		l.buf = append(l.buf, r)
		return
	}
	l.buf[l.start] = r
	l.start = (l.start + 1) % len(l.buf)
}

func (l *requestLog) snapshot() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Request, 0, len(l.buf))
	out = append(out, l.buf[l.start:]...)
	return append(out, l.buf[:l.start]...)
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request { return s.log.snapshot() }

// CountRequests returns how many logged requests match.
func (s *Server) CountRequests(match func(Request) bool) int {
	n := 0
	for _, r := range s.log.snapshot() { // a copy: match may call back into the Server
		if match(r) {
			n++
		}
	}
	return n
}
