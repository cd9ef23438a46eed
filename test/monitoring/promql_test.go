package monitoring_test

import (
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	braces      = regexp.MustCompile(`\{[^}]*\}`)
	brackets    = regexp.MustCompile(`\[[^\]]*\]`)
	quoted      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	grouping    = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	identifier  = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlWords = map[string]bool{
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
	}
)

// metricNames lists the metric names a PromQL expression selects: identifiers that are not
// functions, keywords, label names, label values or durations.
func metricNames(expr string) []string {
	s := quoted.ReplaceAllString(expr, `""`)
	s = braces.ReplaceAllString(s, " ")
	s = brackets.ReplaceAllString(s, " ")
	s = grouping.ReplaceAllString(s, " ")
	seen := map[string]bool{}
	for _, loc := range identifier.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if loc[0] > 0 && (s[loc[0]-1] == '$' || (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9')) {
			continue // a Grafana variable or the unit of a number
		}
		if promqlWords[name] || strings.HasPrefix(strings.TrimSpace(s[loc[1]:]), "(") {
			continue // a keyword, a function or an aggregation
		}
		seen[name] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`sum by (reason) (rate(d365_token_acquisitions_total{result="failure", reason!~"a|b"}[10m])) > 0`,
			"d365_token_acquisitions_total"},
		{`max by (namespace, name) (a_seconds) - time() < 900 and on (namespace, name) b unless on (name) c{reason="x"}`,
			"a_seconds b c"},
		{`histogram_quantile(0.95, sum by (le) (rate(h_bucket[$__rate_interval])))`, "h_bucket"},
		{`count(x == 0) or vector(0)`, "x"},
		{`process_resident_memory_bytes{job=~"$job"}`, "process_resident_memory_bytes"},
	} {
		expr, want := tc.expr, tc.want
		if got := strings.Join(metricNames(expr), " "); got != want {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}
