package controller

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// allowsNamespace says whether allowed picks a namespace with these labels: by name, or by
// the selector. Nothing set allows nothing: an identity is shared only on purpose.
func allowsNamespace(allowed v1alpha1.AllowedNamespaces, namespace string, nsLabels map[string]string) (bool, error) {
	if slices.Contains(allowed.Names, namespace) {
		return true, nil
	}
	if allowed.Selector == nil {
		return false, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(allowed.Selector)
	if err != nil {
		return false, err
	}
	return selector.Matches(labels.Set(nsLabels)), nil
}

// allowedSummary is allowedNamespaces in short form for `kubectl get cd365i`:
// "team-a,team-b +selector", "selector", or "none".
func allowedSummary(allowed v1alpha1.AllowedNamespaces) string {
	parts := slices.Clone(allowed.Names)
	if allowed.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(allowed.Selector)
		switch {
		case err != nil:
			parts = append(parts, "selector (invalid)")
		case s.Empty():
			parts = append(parts, "every namespace")
		default:
			parts = append(parts, "selector "+s.String())
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	summary := strings.Join(parts, ",")
	if len(summary) > maxAllowedSummary {
		summary = summary[:maxAllowedSummary-3] + "..."
	}
	return summary
}

// maxAllowedSummary keeps the printer column readable.
const maxAllowedSummary = 120
