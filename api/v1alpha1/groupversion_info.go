// Package v1alpha1 contains the D365Connection API (a Dynamics 365 / Dataverse environment,
// the Entra ID credentials to reach it, and the Secret the operator keeps a fresh token in)
// and the ClusterD365Identity API (one credential that connections of allowed namespaces use).
// +kubebuilder:object:generate=true
// +groupName=d365.operators.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is group version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "d365.operators.dev", Version: "v1alpha1"}

	// SchemeBuilder registers this group-version's types.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types in this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &D365Connection{}, &D365ConnectionList{},
		&ClusterD365Identity{}, &ClusterD365IdentityList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
