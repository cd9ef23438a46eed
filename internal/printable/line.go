// Package printable makes text that came from a server or a user fit for a condition
// message, an event or a log line.
package printable

import (
	"strings"
	"unicode"
)

// Line returns s as one line of printable text of at most limit runes: white space of any
// kind becomes single spaces, control and other unprintable characters are dropped, and a
// longer text is cut with "…". Whatever a server sends cannot break a status or a log.
func Line(s string, limit int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit]) + "…"
	}
	return s
}
