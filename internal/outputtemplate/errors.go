package outputtemplate

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// templateLocation is text/template's "template: <name>:<line>[:<col>]: " prefix.
var templateLocation = regexp.MustCompile(`^template: .*?:(\d+)(?::\d+)?: `)

// templateError turns a text/template error into an *Error with the line, without the
// prefix, and with the token redacted should an error ever quote it.
func templateError(key string, err error, token string) *Error {
	if errors.Is(err, errTooLarge) {
		return &Error{Key: key, Problem: errTooLarge.Error()}
	}
	msg := err.Error()
	line := 0
	if m := templateLocation.FindStringSubmatchIndex(msg); m != nil {
		line, _ = strconv.Atoi(msg[m[2]:m[3]])
		msg = msg[m[1]:]
	}
	// "executing "key" at <.Field>: " names where, which is useful; values never are.
	if token != "" {
		msg = strings.ReplaceAll(msg, token, "[redacted]")
	}
	return &Error{Key: key, Line: line, Problem: msg}
}
