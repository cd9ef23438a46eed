// Command docblock replaces a generated block in a Markdown file with its standard input,
// so hand-written prose and generated text (e.g. `d365-operator --help`) share one page and
// `make verify` can tell when the generated part is stale.
//
// Usage: d365-operator --help 2>&1 | go run ./hack/docblock docs/operator-flags.md operator-help
//
// The block is everything between the lines "<!-- BEGIN GENERATED operator-help -->" and
// "<!-- END GENERATED operator-help -->"; the input is put in a fenced code block.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: docblock FILE.md BLOCK-NAME < content")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "docblock:", err)
		os.Exit(1)
	}
}

func run(path, name string, in io.Reader) error {
	doc, err := os.ReadFile(path) //nolint:gosec // G304: the file named on the command line
	if err != nil {
		return err
	}
	content, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	begin := []byte("<!-- BEGIN GENERATED " + name + " -->\n")
	end := []byte("<!-- END GENERATED " + name + " -->")
	i := bytes.Index(doc, begin)
	j := bytes.Index(doc, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q ... %q block", path, bytes.TrimSpace(begin), end)
	}
	var out bytes.Buffer
	out.Write(doc[:i+len(begin)])
	out.WriteString("```text\n")
	out.Write(bytes.TrimRight(content, "\n"))
	out.WriteString("\n```\n")
	out.Write(doc[j:])
	// An existing file keeps its mode; the page is as world-readable as the rest of the tree.
	return os.WriteFile(path, out.Bytes(), 0o644) //nolint:gosec // G306: a documentation page, not a secret
}
