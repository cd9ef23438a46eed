package outputtemplate

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"text/template"
	"time"
)

// funcs is the function set templates may call besides text/template's built-ins.
var funcs = template.FuncMap{
	// rfc3339 formats a time as RFC 3339 in UTC, e.g. 2026-11-21T10:00:00Z.
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// unix is a time in seconds since the epoch, as token files' expires_on wants it.
	"unix": func(t time.Time) int64 { return t.Unix() },
	// toJSON renders any value as JSON (a string gets quotes and escapes).
	"toJSON": toJSON,
	// b64enc is standard base64 of a string.
	"b64enc": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	// quote is a double-quoted Go/JSON-compatible string literal.
	"quote": strconv.Quote,
}

// toJSON marshals v; the data model's values always marshal, so an error cannot carry one.
func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", errNotJSON
	}
	return string(b), nil
}
