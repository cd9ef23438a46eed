package controller

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// servedKinds are the kinds the operator watches: it cannot start without their CRDs.
var servedKinds = []string{"D365Connection", "ClusterD365Identity"}

// CheckCRDsInstalled fails, naming the missing kind and what to apply, when the API server
// does not serve one of the operator's CRDs. Without it the operator would wait for a cache
// that never syncs and stop after a timeout that says nothing of the cause; it happens on a
// Helm upgrade, which never upgrades the CRDs in a chart's crds/ directory.
func CheckCRDsInstalled(mapper meta.RESTMapper) error {
	for _, kind := range servedKinds {
		gk := v1alpha1.GroupVersion.WithKind(kind).GroupKind()
		if _, err := mapper.RESTMapping(gk, v1alpha1.GroupVersion.Version); err != nil {
			if meta.IsNoMatchError(err) {
				return fmt.Errorf("the API server does not serve %s %s: install this version's CRDs first "+
					"(kubectl apply --server-side -f charts/d365-operator/crds/, or config/crd): Helm installs CRDs but never upgrades them", kind, v1alpha1.GroupVersion)
			}
			return fmt.Errorf("looking up %s: %w", kind, err)
		}
	}
	return nil
}
