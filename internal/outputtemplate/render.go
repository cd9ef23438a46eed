package outputtemplate

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// Limits, documented in docs/api.md; the CRD refuses what it can check of them.
const (
	// MaxKeys is the most keys spec.target.template.data may render.
	MaxKeys = 32
	// MaxTemplateBytes is the largest template of one key.
	MaxTemplateBytes = 4 * 1024
	// MaxValueBytes is the largest rendered value of one key.
	MaxValueBytes = 64 * 1024
	// RenderTimeout bounds rendering all keys of one Secret.
	RenderTimeout = time.Second
)

var (
	errNotJSON  = errors.New("the value cannot be rendered as JSON")
	errTooLarge = fmt.Errorf("the rendered value is larger than %d bytes", MaxValueBytes)
)

// Error is a template that cannot be rendered: which key, which line (0 when unknown),
// and what is wrong, in a message that never holds a rendered value or the token.
type Error struct {
	Key     string
	Line    int
	Problem string
}

// Error names the key and the line.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("spec.target.template.data[%q], line %d: %s", e.Key, e.Line, e.Problem)
	}
	return fmt.Sprintf("spec.target.template.data[%q]: %s", e.Key, e.Problem)
}

// Render renders every template with d. The first failure, by key order, is an *Error.
func Render(templates map[string]string, d Data) (map[string][]byte, error) {
	if len(templates) > MaxKeys {
		return nil, &Error{Problem: fmt.Sprintf("%d keys, at most %d are allowed", len(templates), MaxKeys)}
	}
	parsed := make(map[string]*template.Template, len(templates))
	for _, key := range slices.Sorted(maps.Keys(templates)) {
		t, err := parseOne(key, templates[key])
		if err != nil {
			return nil, err
		}
		parsed[key] = t
	}
	type result struct {
		out map[string][]byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := execute(parsed, d)
		done <- result{out, err}
	}()
	timer := time.NewTimer(RenderTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.out, r.err
	case <-timer.C:
		return nil, &Error{Problem: fmt.Sprintf("rendering took longer than %s", RenderTimeout)}
	}
}

// parseOne parses one key's template and refuses the actions the data model has no use for.
func parseOne(key, text string) (*template.Template, error) {
	if len(text) > MaxTemplateBytes {
		return nil, &Error{Key: key, Problem: fmt.Sprintf("the template is %d bytes, at most %d are allowed", len(text), MaxTemplateBytes)}
	}
	t, err := template.New(key).Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, templateError(key, err, "")
	}
	if len(t.Templates()) > 1 {
		return nil, &Error{Key: key, Problem: "define and block are not supported"}
	}
	if n := refusedNode(t.Root); n != nil {
		return nil, &Error{Key: key, Line: lineOf(t.Tree, n), Problem: "range, template and break/continue are not supported: the data model has no lists"}
	}
	return t, nil
}

// refusedNode returns the first node of a kind templates may not use, or nil.
func refusedNode(n parse.Node) parse.Node {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if r := refusedNode(c); r != nil {
				return r
			}
		}
	case *parse.IfNode:
		return firstRefused(n.List, n.ElseList)
	case *parse.WithNode:
		return firstRefused(n.List, n.ElseList)
	case *parse.RangeNode, *parse.TemplateNode, *parse.BreakNode, *parse.ContinueNode:
		return n
	}
	return nil
}

func firstRefused(lists ...*parse.ListNode) parse.Node {
	for _, l := range lists {
		if r := refusedNode(l); r != nil {
			return r
		}
	}
	return nil
}

// lineOf is the 1-based line of n in its template.
func lineOf(tree *parse.Tree, n parse.Node) int {
	loc, _ := tree.ErrorContext(n)
	var line int
	if _, rest, ok := strings.Cut(loc, ":"); ok {
		_, _ = fmt.Sscanf(rest, "%d", &line)
	}
	return line
}

// execute renders each template into a buffer capped at MaxValueBytes.
func execute(parsed map[string]*template.Template, d Data) (map[string][]byte, error) {
	out := make(map[string][]byte, len(parsed))
	for _, key := range slices.Sorted(maps.Keys(parsed)) {
		w := &cappedBuffer{limit: MaxValueBytes}
		if err := parsed[key].Execute(w, d); err != nil {
			return nil, templateError(key, err, d.AccessToken)
		}
		out[key] = w.Bytes()
	}
	return out, nil
}

// cappedBuffer fails a write that would take it past limit, which ends the execution.
type cappedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.limit {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}
