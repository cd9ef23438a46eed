package v1alpha1

// AuthSpec selects how the operator signs in to Entra ID. Exactly one member is set.
// +kubebuilder:validation:XValidation:rule="[has(self.clientSecret), has(self.clientCertificate), has(self.workloadIdentity), has(self.usernamePassword), has(self.delegated)].filter(x, x).size() == 1",message="auth must set exactly one of clientSecret, clientCertificate, workloadIdentity, usernamePassword, delegated"
type AuthSpec struct {
	// ClientSecret: OAuth 2.0 client credentials with an application secret.
	// +optional
	ClientSecret *ClientSecretAuth `json:"clientSecret,omitempty"`

	// ClientCertificate: client credentials with a certificate (signed client assertion),
	// read from a kubernetes.io/tls Secret.
	// +optional
	ClientCertificate *ClientCertificateAuth `json:"clientCertificate,omitempty"`

	// WorkloadIdentity: no secret at all; a ServiceAccount token of this namespace is the
	// client assertion for an app whose federated credential trusts the cluster's issuer.
	// +optional
	WorkloadIdentity *WorkloadIdentityAuth `json:"workloadIdentity,omitempty"`

	// UsernamePassword: the OAuth 2.0 password grant (legacy; blocked by MFA).
	// +optional
	UsernamePassword *UsernamePasswordAuth `json:"usernamePassword,omitempty"`

	// Delegated: a user's own sign-in, kept alive with refresh tokens from a token cache
	// that `d365-operator login` writes.
	// +optional
	Delegated *DelegatedAuth `json:"delegated,omitempty"`
}

// SecretKeyRef names a key of a Secret: in the connection's namespace, or, in a
// ClusterD365Identity, in the namespace it names.
type SecretKeyRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="a Secret name must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`

	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[-._a-zA-Z0-9]+$')",message="a Secret key must consist of letters, digits, '-', '_' and '.'"
	Key string `json:"key"`

	// Namespace of the Secret; only in a ClusterD365Identity, where it defaults to the
	// operator's --cluster-resource-namespace. A D365Connection refuses it: a connection only
	// reads Secrets of its own namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Label().validate(self).hasValue()",message="namespace must be a valid namespace name"
	Namespace string `json:"namespace,omitempty"`
}

// SecretRef names a whole Secret: in the connection's namespace, or, in a
// ClusterD365Identity, in the namespace it names.
type SecretRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="a Secret name must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`

	// Namespace of the Secret; only in a ClusterD365Identity, where it defaults to the
	// operator's --cluster-resource-namespace. A D365Connection refuses it.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Label().validate(self).hasValue()",message="namespace must be a valid namespace name"
	Namespace string `json:"namespace,omitempty"`
}

// ClientSecretAuth is the client-credentials grant with an application secret.
// +kubebuilder:validation:XValidation:rule="has(self.clientID) != has(self.clientIDRef)",message="set exactly one of clientID and clientIDRef"
type ClientSecretAuth struct {
	// ClientID is the application (client) id, a GUID.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')",message="clientID must be the application (client) ID, a GUID such as 11111111-2222-3333-4444-555555555555"
	ClientID string `json:"clientID,omitempty"`
	// ClientIDRef reads the application (client) id from a Secret.
	// +optional
	ClientIDRef *SecretKeyRef `json:"clientIDRef,omitempty"`
	// ClientSecretRef reads the client secret value (not its id) from a Secret.
	ClientSecretRef SecretKeyRef `json:"clientSecretRef"`
}

// ClientCertificateAuth is the client-credentials grant with a certificate.
// +kubebuilder:validation:XValidation:rule="has(self.clientID) != has(self.clientIDRef)",message="set exactly one of clientID and clientIDRef"
type ClientCertificateAuth struct {
	// ClientID is the application (client) id, a GUID.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')",message="clientID must be the application (client) ID, a GUID such as 11111111-2222-3333-4444-555555555555"
	ClientID string `json:"clientID,omitempty"`
	// ClientIDRef reads the application (client) id from a Secret.
	// +optional
	ClientIDRef *SecretKeyRef `json:"clientIDRef,omitempty"`
	// CertificateRef names a kubernetes.io/tls Secret (tls.crt, tls.key; RSA key).
	CertificateRef SecretRef `json:"certificateRef"`
}

// WorkloadIdentityAuth presents a ServiceAccount token as a federated client assertion.
// +kubebuilder:validation:XValidation:rule="has(self.clientID) != has(self.clientIDRef)",message="set exactly one of clientID and clientIDRef"
type WorkloadIdentityAuth struct {
	// ClientID is the application (client) id, a GUID.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')",message="clientID must be the application (client) ID, a GUID such as 11111111-2222-3333-4444-555555555555"
	ClientID string `json:"clientID,omitempty"`
	// ClientIDRef reads the application (client) id from a Secret.
	// +optional
	ClientIDRef *SecretKeyRef `json:"clientIDRef,omitempty"`
	// ServiceAccountName is a ServiceAccount in the connection's namespace (in a
	// ClusterD365Identity: in the operator's --cluster-resource-namespace); the app's
	// federated credential must trust subject system:serviceaccount:<namespace>:<name>.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="serviceAccountName must be a valid ServiceAccount name"
	ServiceAccountName string `json:"serviceAccountName"`
}

// UsernamePasswordAuth is the OAuth 2.0 resource owner password grant.
// +kubebuilder:validation:XValidation:rule="has(self.clientID) != has(self.clientIDRef)",message="set exactly one of clientID and clientIDRef"
type UsernamePasswordAuth struct {
	// ClientID is the application (client) id, a GUID.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')",message="clientID must be the application (client) ID, a GUID such as 11111111-2222-3333-4444-555555555555"
	ClientID string `json:"clientID,omitempty"`
	// ClientIDRef reads the application (client) id from a Secret.
	// +optional
	ClientIDRef *SecretKeyRef `json:"clientIDRef,omitempty"`
	// ClientSecretRef is optional: for apps that require client authentication.
	// +optional
	ClientSecretRef *SecretKeyRef `json:"clientSecretRef,omitempty"`
	// UsernameRef reads the user principal name.
	UsernameRef SecretKeyRef `json:"usernameRef"`
	// PasswordRef reads the password.
	PasswordRef SecretKeyRef `json:"passwordRef"`
}

// DelegatedAuth acts as a signed-in user through the refresh token in an MSAL token cache.
// +kubebuilder:validation:XValidation:rule="has(self.clientID) != has(self.clientIDRef)",message="set exactly one of clientID and clientIDRef"
type DelegatedAuth struct {
	// ClientID is the application (client) id, a GUID.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')",message="clientID must be the application (client) ID, a GUID such as 11111111-2222-3333-4444-555555555555"
	ClientID string `json:"clientID,omitempty"`
	// ClientIDRef reads the application (client) id from a Secret.
	// +optional
	ClientIDRef *SecretKeyRef `json:"clientIDRef,omitempty"`
	// ClientSecretRef is optional: for confidential apps.
	// +optional
	ClientSecretRef *SecretKeyRef `json:"clientSecretRef,omitempty"`
	// TokenCacheRef names the Secret holding the serialized MSAL token cache written by
	// `d365-operator login`; the operator writes the rotated cache back.
	TokenCacheRef SecretRef `json:"tokenCacheRef"`
}
