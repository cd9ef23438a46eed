package crd_test

import (
	"fmt"
	"strings"
	"testing"

	d365v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

type (
	spec      = d365v1alpha1.D365ConnectionSpec
	templates = map[string]d365v1alpha1.TemplateText
)

// withTemplate sets spec.target.template.data (and the merge policy, when given).
func withTemplate(policy d365v1alpha1.MergePolicy, data templates) func(*spec) {
	return func(s *spec) {
		s.Target.Template = &d365v1alpha1.OutputTemplate{MergePolicy: policy, Data: data}
	}
}

func TestOutputShapingSpecs(t *testing.T) {
	ns := newNamespace(t, "output")
	many := templates{}
	for i := range 33 {
		many[fmt.Sprintf("key-%d", i)] = "{{ .AccessToken }}"
	}
	tests := map[string]struct {
		mutate  func(*spec)
		message string // "" when the spec is valid
	}{
		"labels, annotations and extra keys are accepted": {func(s *spec) {
			s.Target.SecretTemplate = &d365v1alpha1.SecretTemplate{
				Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"backup.example.com/skip": "true"}}
			withTemplate("", templates{"authorization": "Bearer {{ .AccessToken }}"})(s)
		}, ""},
		"Replace may name a standard key": {
			withTemplate(d365v1alpha1.MergePolicyReplace, templates{"access_token": "{{ .AccessToken }}"}), ""},
		"more than 32 keys are refused": {withTemplate("", many), "32"},
		"a template over 4 KiB is refused": {withTemplate("", templates{
			"big": d365v1alpha1.TemplateText(strings.Repeat("x", 4097))}), "4096"},
		"unbalanced braces are refused": {
			withTemplate("", templates{"k": "{{ .AccessToken "}), "unbalanced {{ and }}"},
		"Merge may not override a standard key": {withTemplate(d365v1alpha1.MergePolicyMerge, templates{
			"access_token": "x"}), "may only name a standard key"},
		"Replace without keys is refused": {
			withTemplate(d365v1alpha1.MergePolicyReplace, nil), "Replace needs at least one key"},
		"a key that is no Secret key is refused": {
			withTemplate("", templates{"a/b": "x"}), "valid Secret keys"},
		"an unknown merge policy is refused": {withTemplate("Append", templates{"k": "x"}), "Unsupported value"},
		"the operator's own label is refused": {func(s *spec) {
			s.Target.SecretTemplate = &d365v1alpha1.SecretTemplate{
				Labels: map[string]string{"app.kubernetes.io/managed-by": "me"}}
		}, "the operator owns them"},
		"the operator's own annotations are refused": {func(s *spec) {
			s.Target.SecretTemplate = &d365v1alpha1.SecretTemplate{
				Annotations: map[string]string{"d365.operators.dev/issued-at": "x"}}
		}, "the operator owns them"},
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			spec := validSpec()
			c.mutate(&spec)
			err := create(t, ns, spec)
			switch {
			case c.message == "" && err != nil:
				t.Fatalf("a valid spec was refused: %v", err)
			case c.message != "" && (err == nil || !strings.Contains(err.Error(), c.message)):
				t.Fatalf("err = %v, want a refusal mentioning %q", err, c.message)
			}
		})
	}
}
