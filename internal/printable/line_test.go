package printable

import "testing"

func TestLine(t *testing.T) {
	for _, c := range []struct {
		name, in string
		limit    int
		want     string
	}{
		{"line breaks and tabs become single spaces", "a\r\n\tb  c", 10, "a b c"},
		{"control characters are dropped", "a\x00b\x1bc", 10, "abc"},
		{"a non-breaking space is a space", "a\u00a0b", 10, "a b"},
		{"a longer text is cut at limit runes", "äöüäöü", 3, "äöü…"},
		{"nothing stays nothing", " \n ", 5, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Line(c.in, c.limit); got != c.want {
				t.Errorf("Line(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
			}
		})
	}
}
