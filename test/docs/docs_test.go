// Package docs_test keeps the documentation honest where it can be checked mechanically:
// every condition reason has a troubleshooting entry, relative links and anchors resolve, and
// every D365Connection and ClusterD365Identity in a YAML example uses only fields the API has.
package docs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// repo is the repository, read-only: every path below is relative to its root.
var repo = os.DirFS("../..")

// Every Reason* constant of the API is a row of docs/troubleshooting.md: a user who sees a
// reason in `kubectl get d365c -o wide` must find it there.
func TestTroubleshootingCoversEveryReason(t *testing.T) {
	page, err := fs.ReadFile(repo, "docs/troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	reasons := reasonConstants(t)
	if len(reasons) < 10 {
		t.Fatalf("found only %d Reason constants in api/v1alpha1: is the parser looking in the right place?", len(reasons))
	}
	for name, value := range reasons {
		if !strings.Contains(string(page), "`"+value+"`") {
			t.Errorf("docs/troubleshooting.md has no entry for %s (%q)", value, name)
		}
	}
}

// reasonConstants returns the string constants named Reason* in api/v1alpha1.
func reasonConstants(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := fs.Glob(repo, "api/v1alpha1/*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := fs.ReadFile(repo, name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Reason") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					out[name.Name] = v
				}
			}
			return false
		})
	}
	return out
}

var (
	mdLink   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading  = regexp.MustCompile(`(?m)^#{1,6} +(.+)$`)
	yamlCode = regexp.MustCompile("(?s)```yaml\n(.*?)```")
	connKind = regexp.MustCompile(`(?m)^kind: D365Connection\s*$`)
	// identityKind allows a comment after the kind, as the README's example has.
	identityKind = regexp.MustCompile(`(?m)^kind: ClusterD365Identity\s*(#.*)?$`)
)

// markdownFiles are the pages users read: README.md and docs/*.md.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files, err := fs.Glob(repo, "docs/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	return append(files, "README.md")
}

// Relative links point at files that exist, and #anchors at headings that exist (GitHub's
// slugs), so the step-by-step pages never send a reader nowhere.
func TestRelativeLinksResolve(t *testing.T) {
	for _, page := range markdownFiles(t) {
		raw, err := fs.ReadFile(repo, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(raw), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			// The design folder lives outside the repository.
			if strings.Contains(file, "shared/design") {
				continue
			}
			linked := page
			if file != "" {
				linked = path.Join(path.Dir(page), file)
			}
			if _, err := fs.Stat(repo, linked); err != nil {
				t.Errorf("%s links to %s, which does not exist", page, target)
				continue
			}
			if anchor != "" && !hasAnchor(t, linked, anchor) {
				t.Errorf("%s links to %s, but %s has no heading with that anchor", page, target, linked)
			}
		}
	}
}

func hasAnchor(t *testing.T, name, anchor string) bool {
	t.Helper()
	raw, err := fs.ReadFile(repo, name)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range heading.FindAllStringSubmatch(string(raw), -1) {
		if slug(h[1]) == anchor {
			return true
		}
	}
	return false
}

// slug is GitHub's heading anchor: lower case, punctuation other than '-' and '_' dropped,
// spaces turned into '-'.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Every D365Connection and ClusterD365Identity in a YAML example decodes strictly into the
// API type: a misspelled or invented field in the docs fails here, not in a user's kubectl
// apply.
func TestYAMLExamplesUseRealFields(t *testing.T) {
	checked := map[string]int{}
	for _, page := range markdownFiles(t) {
		raw, err := fs.ReadFile(repo, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range yamlCode.FindAllStringSubmatch(string(raw), -1) {
			for doc := range strings.SplitSeq(block[1], "\n---\n") {
				var obj any
				var kind string
				switch {
				case connKind.MatchString(doc):
					obj, kind = &v1alpha1.D365Connection{}, "D365Connection"
				case identityKind.MatchString(doc):
					obj, kind = &v1alpha1.ClusterD365Identity{}, "ClusterD365Identity"
				default:
					continue
				}
				if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
					t.Errorf("%s: a %s example does not match the API: %v\n%s", page, kind, err, doc)
				}
				checked[kind]++
			}
		}
	}
	for _, kind := range []string{"D365Connection", "ClusterD365Identity"} {
		if checked[kind] == 0 {
			t.Errorf("no %s example found in the docs", kind)
		}
	}
}
