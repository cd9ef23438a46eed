package dataverse

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Service protection headers Dataverse sends on its answers (docs/reference/
// dataverse-health-functions.md, "API budget"). They say what remains of the calling user's
// budget on the web server that answered, over the 300-second window.
const (
	headerBurstRemaining = "x-ms-ratelimit-burst-remaining-xrm-requests"
	headerTimeRemaining  = "x-ms-ratelimit-time-remaining-xrm-requests"
)

// Budget is what an answer's service protection headers said remained of the caller's
// budget. A header that was absent or unreadable leaves its Has* false.
type Budget struct {
	// Requests is the number of requests that remained (burst-remaining).
	Requests float64
	// HasRequests: the burst-remaining header was present and readable.
	HasRequests bool
	// ExecutionTime is the combined execution time that remained (time-remaining).
	ExecutionTime time.Duration
	// HasExecutionTime: the time-remaining header was present and readable.
	HasExecutionTime bool
}

// Known reports whether either header was read.
func (b Budget) Known() bool { return b.HasRequests || b.HasExecutionTime }

// parseBudget reads the service protection headers of an answer.
func parseBudget(h http.Header) Budget {
	var b Budget
	b.Requests, b.HasRequests = parseHeaderNumber(h.Get(headerBurstRemaining))
	if secs, ok := parseHeaderNumber(h.Get(headerTimeRemaining)); ok {
		b.ExecutionTime, b.HasExecutionTime = time.Duration(secs*float64(time.Second)), true
	}
	return b
}

// parseHeaderNumber reads a non-negative number as Dataverse writes it: invariant culture,
// with a thousands separator and decimals ("1,200.00", "5999").
func parseHeaderNumber(v string) (float64, bool) {
	v = strings.ReplaceAll(strings.TrimSpace(v), ",", "")
	if v == "" || len(v) > 32 {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f != f { // f != f: NaN
		return 0, false
	}
	return f, true
}

// Limit names the service protection limit behind a throttled call.
type Limit string

// Limits Dataverse enforces per user and web server (reference §5).
const (
	// LimitRequests: 0x80072322, the number of requests per 5 minutes.
	LimitRequests Limit = "requests"
	// LimitExecutionTime: 0x80072321, the combined execution time per 5 minutes.
	LimitExecutionTime Limit = "execution_time"
	// LimitConcurrency: 0x80072326, the number of concurrent requests.
	LimitConcurrency Limit = "concurrency"
	// LimitUnknown: a 429 (or 503 with Retry-After) without a known code.
	LimitUnknown Limit = "unknown"
)

// limitOf names the limit behind a throttling error code.
func limitOf(code string) Limit {
	switch strings.ToLower(code) {
	case codeRequestsLimit:
		return LimitRequests
	case codeExecutionTimeLimit:
		return LimitExecutionTime
	case codeConcurrencyLimit:
		return LimitConcurrency
	}
	return LimitUnknown
}
