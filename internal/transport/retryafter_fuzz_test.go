package transport

import (
	"testing"
	"time"
)

// FuzzParseRetryAfter checks that whatever a server sends as Retry-After gives a delay in
// [0, 24h], and no delay at all when it is unreadable.
// Run with: go test -run='^$' -fuzz='^FuzzParseRetryAfter$' ./internal/transport/
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Unix()
	for _, seed := range []string{
		"", "0", "5", "1.5", "-1", "NaN", "+Inf", "-Inf", "1e308", "0x10", " 30 ", "9223372036854775807",
		"Sat, 01 Mar 2025 12:00:30 GMT", "Sat, 01 Mar 2025 11:00:00 GMT", "Monday, 01-Mar-25 12:00:30 GMT",
		"Sat Mar  1 12:00:30 2025", "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT", "tomorrow",
	} {
		f.Add(seed, now)
	}
	f.Fuzz(func(t *testing.T, v string, unix int64) {
		d, ok := ParseRetryAfter(v, time.Unix(unix, 0))
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v, outside [0, %v]", v, d, maxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v but not ok", v, d)
		}
	})
}
