package controller

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// Against the real API server with this version's CRDs the check passes; without the
// identity CRD (an upgrade that skipped the CRDs) it names the kind and what to apply.
func TestCheckCRDsInstalled(t *testing.T) {
	httpClient, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	served, err := apiutil.NewDynamicRESTMapper(env.Config, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCRDsInstalled(served); err != nil {
		t.Errorf("with the CRDs installed: %v", err)
	}

	old := meta.NewDefaultRESTMapper([]schema.GroupVersion{v1alpha1.GroupVersion})
	old.Add(v1alpha1.GroupVersion.WithKind("D365Connection"), meta.RESTScopeNamespace)
	err = CheckCRDsInstalled(old)
	if err == nil || !strings.Contains(err.Error(), "ClusterD365Identity") || !strings.Contains(err.Error(), "never upgrades") {
		t.Errorf("without the identity CRD: %v, want an error naming it and how to install it", err)
	}
}
