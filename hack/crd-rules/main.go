// Command crd-rules prints, as Markdown, every CEL validation rule (x-kubernetes-validations)
// of the given CRD files with the field it sits on and the message the API server answers
// with. `make api-docs` appends it to docs/api.md, because crd-ref-docs leaves CEL rules out
// and they are what a user meets first when a spec is refused.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crd-rules CRD.yaml...")
		os.Exit(2)
	}
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "crd-rules:", err)
		os.Exit(1)
	}
}

// rule is one CEL rule at a field path.
type rule struct {
	path, message, expr string
}

func run(w io.Writer, paths []string) error {
	// Assembled first and written once: one error to check.
	out := &strings.Builder{}
	for _, path := range paths {
		raw, err := os.ReadFile(path) //nolint:gosec // G304: the file named on the command line
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, v := range crd.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			var rules []rule
			collect(v.Schema.OpenAPIV3Schema, "", &rules)
			write(out, crd.Spec.Names.Kind, crd.Spec.Group+"/"+v.Name, rules)
		}
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// collect walks the schema depth first, in sorted property order so the output is stable.
func collect(s *apiextensionsv1.JSONSchemaProps, path string, rules *[]rule) {
	for _, v := range s.XValidations {
		*rules = append(*rules, rule{path: path, message: v.Message, expr: v.Rule})
	}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		prop := s.Properties[name]
		collect(&prop, join(path, name), rules)
	}
	if s.Items != nil && s.Items.Schema != nil {
		collect(s.Items.Schema, path+"[*]", rules)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		collect(s.AdditionalProperties.Schema, path+".*", rules)
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func write(out *strings.Builder, kind, gv string, rules []rule) {
	fmt.Fprintf(out, "\n## Validation rules of %s (%s)\n\n", kind, gv)
	fmt.Fprintf(out, "The API server refuses a %s that breaks one of these rules (CEL in the CRD) "+
		"with the message shown. Generated from the CRD by `hack/crd-rules`.\n\n", kind)
	out.WriteString("| Field | Message | Rule |\n")
	out.WriteString("| --- | --- | --- |\n")
	for _, r := range rules {
		path := r.path
		if path == "" {
			path = "(object)"
		}
		fmt.Fprintf(out, "| `%s` | %s | `%s` |\n", path, cell(r.message), cell(r.expr))
	}
}

// cell keeps a value inside one Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
