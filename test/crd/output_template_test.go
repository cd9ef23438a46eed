package crd_test

import (
	"fmt"
	"strings"
	"testing"

	d365v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// withTemplate sets spec.target.template.data (and the merge policy, when given).
func withTemplate(policy d365v1alpha1.MergePolicy, data map[string]d365v1alpha1.TemplateText) func(*d365v1alpha1.D365ConnectionSpec) {
	return func(s *d365v1alpha1.D365ConnectionSpec) {
		s.Target.Template = &d365v1alpha1.OutputTemplate{MergePolicy: policy, Data: data}
	}
}

func TestOutputShapingSpecs(t *testing.T) {
	ns := newNamespace(t, "output")
	many := map[string]d365v1alpha1.TemplateText{}
	for i := range 33 {
		many[fmt.Sprintf("key-%d", i)] = "{{ .AccessToken }}"
	}
	tests := map[string]struct {
		mutate  func(*d365v1alpha1.D365ConnectionSpec)
		message string // "" when the spec is valid
	}{
		"labels, annotations and extra keys are accepted": {func(s *d365v1alpha1.D365ConnectionSpec) {
			s.Target.SecretTemplate = &d365v1alpha1.SecretTemplate{Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"backup.example.com/skip": "true"}}
			withTemplate("", map[string]d365v1alpha1.TemplateText{"authorization": "Bearer {{ .AccessToken }}"})(s)
		}, ""},
		"Replace may name a standard key": {withTemplate(d365v1alpha1.MergePolicyReplace, map[string]d365v1alpha1.TemplateText{"access_token": "{{ .AccessToken }}"}), ""},
		"more than 32 keys are refused":   {withTemplate("", many), "32"},
		"a template over 4 KiB is refused": {withTemplate("", map[string]d365v1alpha1.TemplateText{
			"big": d365v1alpha1.TemplateText(strings.Repeat("x", 4097))}), "4096"},
		"unbalanced braces are refused": {withTemplate("", map[string]d365v1alpha1.TemplateText{"k": "{{ .AccessToken "}), "unbalanced {{ and }}"},
		"Merge may not override a standard key": {withTemplate(d365v1alpha1.MergePolicyMerge, map[string]d365v1alpha1.TemplateText{
			"access_token": "x"}), "may only name a standard key"},
		"Replace without keys is refused":        {withTemplate(d365v1alpha1.MergePolicyReplace, nil), "Replace needs at least one key"},
		"a key that is no Secret key is refused": {withTemplate("", map[string]d365v1alpha1.TemplateText{"a/b": "x"}), "valid Secret keys"},
		"an unknown merge policy is refused":     {withTemplate("Append", map[string]d365v1alpha1.TemplateText{"k": "x"}), "Unsupported value"},
		"the operator's own label is refused": {func(s *d365v1alpha1.D365ConnectionSpec) {
			s.Target.SecretTemplate = &d365v1alpha1.SecretTemplate{Labels: map[string]string{"app.kubernetes.io/managed-by": "me"}}
		}, "the operator owns them"},
		"the operator's own annotations are refused": {func(s *d365v1alpha1.D365ConnectionSpec) {
			s.Target.SecretTemplate = &d365v1alpha1.SecretTemplate{Annotations: map[string]string{"d365.operators.dev/issued-at": "x"}}
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
