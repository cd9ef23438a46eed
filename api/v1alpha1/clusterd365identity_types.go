package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterD365IdentitySpec is an Entra ID sign-in that connections of the allowed namespaces
// use by name (spec.identityRef), so that the credential stays in the platform team's
// namespace: application teams get tokens, never the secret that mints them.
type ClusterD365IdentitySpec struct {
	// TenantID is the Entra ID tenant (GUID or verified domain) for every connection using
	// this identity. Empty: discovered from each environment's challenge.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9][A-Za-z0-9.-]*$')",message="tenantID must be a tenant GUID or a verified domain such as contoso.onmicrosoft.com"
	TenantID string `json:"tenantID,omitempty"`

	// AuthorityHost is the Entra ID login host, e.g. https://login.microsoftonline.us for US
	// Government. Empty: taken from each environment's challenge.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') && isURL(self) && url(self).getHostname() != '' && url(self).getEscapedPath() in ['', '/'] && !self.contains('?') && !self.contains('#')",message="authorityHost must be an https URL with no path, e.g. https://login.microsoftonline.us"
	AuthorityHost string `json:"authorityHost,omitempty"`

	// Auth is how the identity signs in: the same members as D365Connection.spec.auth.
	// Secret references take a namespace (default: the operator's
	// --cluster-resource-namespace); a workloadIdentity ServiceAccount lives in the
	// --cluster-resource-namespace.
	Auth AuthSpec `json:"auth"`

	// AllowedNamespaces are the namespaces whose connections may use this identity: those
	// named, and those the selector matches. Empty: none may (the secure default).
	// +optional
	AllowedNamespaces AllowedNamespaces `json:"allowedNamespaces,omitempty"`
}

// AllowedNamespaces selects namespaces by name and by label; a namespace either picks is
// allowed.
type AllowedNamespaces struct {
	// Names of allowed namespaces.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:XValidation:rule="!format.dns1123Label().validate(self).hasValue()",message="allowedNamespaces.names must be namespace names"
	Names []string `json:"names,omitempty"`

	// Selector allows the namespaces whose labels match it. An empty selector ({}) matches
	// every namespace.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// ClusterD365IdentityStatus reports whether the identity can sign in, and who uses it.
type ClusterD365IdentityStatus struct {
	// ObservedGeneration is the spec generation the status describes. It reads 0 until the
	// operator first writes the status, so that kstatus (Flux, cli-utils) sees an identity
	// nobody looked at yet as in progress, not as current.
	// +optional
	// +kubebuilder:default=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready is True when the credential material resolves and, once a
	// connection used the identity, Entra ID accepted it.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Connections is the number of connections using the identity now.
	// +optional
	Connections int32 `json:"connections,omitempty"`

	// AllowedNamespaces is spec.allowedNamespaces in short form, for kubectl get.
	// +optional
	AllowedNamespaces string `json:"allowedNamespaces,omitempty"`

	// LastFailure is Entra ID's last refusal of the identity's credential.
	// +optional
	LastFailure *IdentityFailure `json:"lastFailure,omitempty"`
}

// IdentityFailure is a token request Entra ID refused.
type IdentityFailure struct {
	// Time of the refusal.
	Time metav1.Time `json:"time"`
	// Reason is the condition reason it maps to, e.g. InvalidClientSecret.
	Reason string `json:"reason"`
	// Code is Entra ID's error code, e.g. AADSTS7000215; empty when it gave none.
	// +optional
	Code string `json:"code,omitempty"`
	// Message says what Entra ID answered and what to do; it never holds a credential.
	// +optional
	Message string `json:"message,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cd365i,categories=d365
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Allowed",type=string,JSONPath=`.status.allowedNamespaces`,description="The namespaces that may use it"
// +kubebuilder:printcolumn:name="Connections",type=integer,JSONPath=`.status.connections`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ClusterD365Identity is an Entra ID sign-in that D365Connections of the allowed namespaces
// use through spec.identityRef; its credential stays in the platform team's namespace.
type ClusterD365Identity struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ClusterD365IdentitySpec `json:"spec"`
	// +kubebuilder:default={}
	Status ClusterD365IdentityStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterD365IdentityList contains a list of ClusterD365Identity.
type ClusterD365IdentityList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterD365Identity `json:"items"`
}
