package dataverse

import (
	"net/http"
	"testing"
	"time"
)

func TestParseBudget(t *testing.T) {
	tests := map[string]struct {
		burst, time string
		want        Budget
	}{
		"the documented format":          {"5999", "1,200.00", Budget{Requests: 5999, HasRequests: true, ExecutionTime: 20 * time.Minute, HasExecutionTime: true}},
		"separators in both":             {"7,999", "0.25", Budget{Requests: 7999, HasRequests: true, ExecutionTime: 250 * time.Millisecond, HasExecutionTime: true}},
		"absent headers read as unknown": {"", "", Budget{}},
		"garbage is unknown":             {"lots", "-5", Budget{}},
		"NaN is unknown":                 {"NaN", "NaN", Budget{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			if tc.burst != "" {
				h.Set(headerBurstRemaining, tc.burst)
			}
			if tc.time != "" {
				h.Set(headerTimeRemaining, tc.time)
			}
			if got := parseBudget(h); got != tc.want {
				t.Errorf("parseBudget = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLimitOf(t *testing.T) {
	for code, want := range map[string]Limit{"0x80072322": LimitRequests, "0x80072321": LimitExecutionTime, "0x80072326": LimitConcurrency, "": LimitUnknown} {
		if got := limitOf(code); got != want {
			t.Errorf("limitOf(%q) = %s, want %s", code, got, want)
		}
	}
}
