package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// D365ConnectionSpec names a Dataverse environment, the Entra ID identity used to reach it,
// and where the operator keeps the access token.
// +kubebuilder:validation:XValidation:rule="has(self.auth) != has(self.identityRef)",message="set exactly one of auth (a credential in this namespace) and identityRef (a ClusterD365Identity)"
// +kubebuilder:validation:XValidation:rule="!has(self.identityRef) || (!has(self.tenantID) && !has(self.authorityHost))",message="with identityRef, tenantID and authorityHost come from the ClusterD365Identity: remove them from the connection"
type D365ConnectionSpec struct {
	// EnvironmentURL is the Dataverse environment, e.g. https://contoso.crm.dynamics.com.
	// The Entra ID authority is discovered from this environment's own 401 challenge.
	// +kubebuilder:validation:MinLength=9
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://')",message="environmentURL must start with https:// (tokens are only sent over TLS)"
	// +kubebuilder:validation:XValidation:rule="!self.contains('?') && !self.contains('#')",message="environmentURL must not have a query (?) or fragment (#): use the environment root, e.g. https://contoso.crm.dynamics.com"
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getHostname() != '' && url(self).getEscapedPath() in ['', '/']",message="environmentURL must be the environment root with no path, e.g. https://contoso.crm.dynamics.com"
	// +kubebuilder:validation:XValidation:rule="!self.contains('@')",message="environmentURL must not carry user information (user@): credentials never travel in the URL"
	// +kubebuilder:validation:XValidation:rule="!isURL(self) || url(self).getPort() == ''",message="environmentURL must not name a port: Dataverse serves the Web API on 443"
	EnvironmentURL string `json:"environmentURL"`

	// TenantID is the Entra ID tenant (GUID or verified domain). Empty: discovered from the
	// environment's challenge.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9][A-Za-z0-9.-]*$')",message="tenantID must be a tenant GUID or a verified domain such as contoso.onmicrosoft.com"
	TenantID string `json:"tenantID,omitempty"`

	// AuthorityHost is the Entra ID login host, e.g. https://login.microsoftonline.us for US
	// Government. Empty: taken from the environment's challenge.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') && isURL(self) && url(self).getHostname() != '' && url(self).getEscapedPath() in ['', '/'] && !self.contains('?') && !self.contains('#')",message="authorityHost must be an https URL with no path, e.g. https://login.microsoftonline.us"
	AuthorityHost string `json:"authorityHost,omitempty"`

	// Auth selects how the operator signs in to Entra ID, with Secrets of the connection's
	// own namespace. Exactly one member is set. Set auth or identityRef, not both.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!(has(self.clientSecret) && (has(self.clientSecret.clientSecretRef.namespace) || (has(self.clientSecret.clientIDRef) && has(self.clientSecret.clientIDRef.namespace)))) && !(has(self.clientCertificate) && (has(self.clientCertificate.certificateRef.namespace) || (has(self.clientCertificate.clientIDRef) && has(self.clientCertificate.clientIDRef.namespace)))) && !(has(self.workloadIdentity) && has(self.workloadIdentity.clientIDRef) && has(self.workloadIdentity.clientIDRef.namespace)) && !(has(self.usernamePassword) && (has(self.usernamePassword.usernameRef.namespace) || has(self.usernamePassword.passwordRef.namespace) || (has(self.usernamePassword.clientIDRef) && has(self.usernamePassword.clientIDRef.namespace)) || (has(self.usernamePassword.clientSecretRef) && has(self.usernamePassword.clientSecretRef.namespace)))) && !(has(self.delegated) && (has(self.delegated.tokenCacheRef.namespace) || (has(self.delegated.clientIDRef) && has(self.delegated.clientIDRef.namespace)) || (has(self.delegated.clientSecretRef) && has(self.delegated.clientSecretRef.namespace))))",message="a connection's Secret references have no namespace: it reads Secrets of its own namespace only (to share a credential across namespaces, use a ClusterD365Identity and spec.identityRef)"
	Auth AuthSpec `json:"auth,omitzero"`

	// IdentityRef signs in as a ClusterD365Identity instead of spec.auth: the platform team
	// keeps the credential in its own namespace, and the identity's allowedNamespaces must
	// include this connection's namespace. Its tenantID and authorityHost apply.
	// +optional
	IdentityRef *IdentityRef `json:"identityRef,omitempty"`

	// Target is the Secret the operator writes the access token to.
	// +optional
	Target TargetSpec `json:"target,omitempty"`

	// RefreshBefore makes the operator replace the token when less than this validity
	// remains. Default: half the token's lifetime. A value longer than the token's lifetime
	// cannot be honoured: half the lifetime is used and the status says so.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5m') && duration(self) <= duration('24h')",message="refreshBefore must be between 5m and 24h: kubelet needs about 2 minutes to project a refreshed Secret into pods"
	RefreshBefore *metav1.Duration `json:"refreshBefore,omitempty"`

	// HealthCheck configures the periodic WhoAmI call against the environment.
	// +optional
	HealthCheck HealthCheckSpec `json:"healthCheck,omitempty"`

	// Suspend stops all calls and writes for this connection; the Secret keeps its token.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// IdentityRef names a ClusterD365Identity.
type IdentityRef struct {
	// Name of the ClusterD365Identity.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="identityRef.name must be a valid ClusterD365Identity name"
	Name string `json:"name"`
}

// TargetSpec names the output Secret.
type TargetSpec struct {
	// Name of the output Secret in the connection's namespace. Default: "<metadata.name>-token".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="target.name must be a valid Secret name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name,omitempty"`

	// SecretTemplate adds labels and annotations to the output Secret (e.g. what a backup or
	// GitOps tool needs). Removing one here removes it from the Secret; labels and
	// annotations that others add are left alone. The connection's own labels are never
	// copied: only what this template names.
	// +optional
	SecretTemplate *SecretTemplate `json:"secretTemplate,omitempty"`

	// Template renders extra keys into the output Secret from the token, with Go
	// text/template (data model and functions: docs/api.md, "Output shaping").
	// +optional
	Template *OutputTemplate `json:"template,omitempty"`
}

// SecretTemplate is metadata copied onto the output Secret.
type SecretTemplate struct {
	// Labels to set on the output Secret.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('d365.operators.dev/') && k != 'app.kubernetes.io/managed-by')",message="secretTemplate.labels may not set app.kubernetes.io/managed-by or d365.operators.dev/ labels: the operator owns them"
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations to set on the output Secret.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('d365.operators.dev/'))",message="secretTemplate.annotations may not set d365.operators.dev/ annotations: the operator owns them"
	Annotations map[string]string `json:"annotations,omitempty"`
}

// MergePolicy says whether rendered keys join the standard keys or replace them.
// +kubebuilder:validation:Enum=Merge;Replace
type MergePolicy string

const (
	// MergePolicyMerge keeps the five standard keys beside the rendered ones.
	MergePolicyMerge MergePolicy = "Merge"
	// MergePolicyReplace writes only the rendered keys.
	MergePolicyReplace MergePolicy = "Replace"
)

// OutputTemplate renders extra keys of the output Secret with Go text/template ("Output
// shaping"). The data model: .AccessToken (the bare JWT), .TokenType ("Bearer"),
// .ExpiresAt and .IssuedAt (times, UTC), .EnvironmentURL ("https://host/"), .WebAPIURL
// ("https://host/api/data/v9.2/"), .TenantID, .ClientID, .Authority
// ("https://login.microsoftonline.com/<tenant>/") and .Resource. Functions, besides
// text/template's built-ins: rfc3339 and unix (of a time), toJSON, b64enc and quote.
// For example `authorization: "Bearer {{ .AccessToken }}"`, or
// `token.json: '{"access_token": {{ .AccessToken | quote }}, "expires_on": {{ .ExpiresAt | unix }}}'`.
// range, define, template and block are refused (the data model has no lists). A template
// that cannot be rendered makes the connection Ready=False with reason TemplateInvalid,
// naming the key and the line; the Secret keeps its last good content. More examples:
// docs/consumers.md.
// +kubebuilder:validation:XValidation:rule="!has(self.mergePolicy) || self.mergePolicy == 'Merge' || (has(self.data) && size(self.data) > 0)",message="template.mergePolicy Replace needs at least one key in template.data"
// +kubebuilder:validation:XValidation:rule="(has(self.mergePolicy) && self.mergePolicy == 'Replace') || !has(self.data) || self.data.all(k, !(k in ['access_token', 'token_type', 'expires_at', 'environment_url', 'web_api_url']))",message="template.data may only name a standard key (access_token, token_type, expires_at, environment_url, web_api_url) with mergePolicy Replace"
type OutputTemplate struct {
	// MergePolicy: Merge (default) keeps the standard keys (access_token, token_type,
	// expires_at, environment_url, web_api_url) beside the rendered ones; Replace writes only
	// the rendered keys.
	// +optional
	// +kubebuilder:default=Merge
	MergePolicy MergePolicy `json:"mergePolicy,omitempty"`

	// Data maps a Secret key to a Go template; at most 32 keys, each template at most 4 KiB,
	// each rendered value at most 64 KiB.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[-._a-zA-Z0-9]+$') && size(k) <= 253)",message="template.data keys must be valid Secret keys: letters, digits, '-', '_' and '.'"
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k].split('{{').size() == self[k].split('}}').size())",message="a template in template.data has unbalanced {{ and }}"
	Data map[string]TemplateText `json:"data,omitempty"`
}

// TemplateText is one key's Go template.
// +kubebuilder:validation:MaxLength=4096
type TemplateText string

// HealthCheckSpec configures the WhoAmI health check.
type HealthCheckSpec struct {
	// Interval between WhoAmI calls. Default 5m. Connections holding the same token for
	// the same environment share one call (an answer stands for 30s), so that many
	// connections of one application user do not spend its Dataverse request limits.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('30s') && duration(self) <= duration('24h')",message="healthCheck.interval must be between 30s and 24h"
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Disabled turns the WhoAmI health check off.
	// +optional
	Disabled bool `json:"disabled,omitempty"`

	// RequiredPrivileges the application user must hold, as Dataverse spells them
	// ("prvReadAccount"), each optionally with the least depth it needs
	// ("prvCreateContact:Global"; Basic < Local < Deep < Global). After WhoAmI the operator
	// calls RetrieveUserPrivileges (shared by connections holding the same token, once per
	// interval) and sets Healthy=False, reason MissingPrivileges, naming what is missing.
	// Empty: no privilege check and no extra call. Reading the privileges takes prvReadUser.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	RequiredPrivileges []RequiredPrivilege `json:"requiredPrivileges,omitempty"`
}

// RequiredPrivilege is a privilege name with an optional depth: "prvReadAccount" or
// "prvReadAccount:Global".
// +kubebuilder:validation:MaxLength=128
// +kubebuilder:validation:XValidation:rule="self.matches('^prv[A-Za-z0-9_]+(:(Basic|Local|Deep|Global))?$')",message="requiredPrivileges items are privilege names as Dataverse spells them (prvReadAccount), optionally with a depth: prvReadAccount:Global (Basic, Local, Deep or Global)"
type RequiredPrivilege string

// D365ConnectionStatus reports how the connection stands.
type D365ConnectionStatus struct {
	// ObservedGeneration is the spec generation the status describes. It reads 0 until
	// the operator first writes the status, so that GitOps health checks (kstatus: Flux,
	// cli-utils) see a connection nobody reconciled yet as in progress, not as current.
	// +optional
	// +kubebuilder:default=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready summarizes Authenticated and Healthy; Reconciling and Stalled follow
	// kstatus.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// TenantID is the Entra ID tenant, given or discovered.
	// +optional
	TenantID string `json:"tenantID,omitempty"`

	// Authority is the Entra ID authority tokens are requested from.
	// +optional
	Authority string `json:"authority,omitempty"`

	// Resource is the Dataverse resource tokens are issued for (from the challenge).
	// +optional
	Resource string `json:"resource,omitempty"`

	// DiscoveredFor is the environment URL the authority and resource were discovered for;
	// a different spec.environmentURL triggers a new discovery.
	// +optional
	DiscoveredFor string `json:"discoveredFor,omitempty"`

	// TargetSecretName is the output Secret's name.
	// +optional
	TargetSecretName string `json:"targetSecretName,omitempty"`

	// TokenExpiresAt is when the token in the output Secret expires.
	// +optional
	TokenExpiresAt *metav1.Time `json:"tokenExpiresAt,omitempty"`

	// LastRefreshTime is when the token in the output Secret was issued.
	// +optional
	LastRefreshTime *metav1.Time `json:"lastRefreshTime,omitempty"`

	// NextRefreshTime is when the operator will replace the token.
	// +optional
	NextRefreshTime *metav1.Time `json:"nextRefreshTime,omitempty"`

	// LastHealthCheckTime is when WhoAmI last ran with a new token or changed its outcome.
	// Passing checks in between are not written, so a healthy connection causes no API
	// writes at rest; the Healthy condition always holds the current outcome.
	// +optional
	LastHealthCheckTime *metav1.Time `json:"lastHealthCheckTime,omitempty"`

	// LastHandledRequestedAt echoes the d365.operators.dev/requested-at annotation value
	// whose forced refresh has been done.
	// +optional
	LastHandledRequestedAt string `json:"lastHandledRequestedAt,omitempty"`

	// Identity is who the environment says the token belongs to (WhoAmI).
	// +optional
	Identity *Identity `json:"identity,omitempty"`

	// Environment describes the Dataverse environment (RetrieveVersion and
	// RetrieveCurrentOrganization), refreshed hourly and when WhoAmI's organization id changes.
	// +optional
	Environment *EnvironmentInfo `json:"environment,omitempty"`
}

// EnvironmentInfo is what the environment says about itself.
type EnvironmentInfo struct {
	// Version is the Dataverse version, e.g. 9.2.25013.169 (RetrieveVersion).
	// +optional
	Version string `json:"version,omitempty"`
	// OrganizationName is the organization's name in URLs (OrganizationDetail.UrlName).
	// +optional
	OrganizationName string `json:"organizationName,omitempty"`
	// UniqueName is the organization's unique name (OrganizationDetail.UniqueName).
	// +optional
	UniqueName string `json:"uniqueName,omitempty"`
	// FriendlyName is the organization's display name (OrganizationDetail.FriendlyName).
	// +optional
	FriendlyName string `json:"friendlyName,omitempty"`
}

// Identity is the WhoAmI answer.
type Identity struct {
	// UserID is the systemuserid of the application user.
	UserID string `json:"userID,omitempty"`
	// BusinessUnitID is the user's business unit.
	BusinessUnitID string `json:"businessUnitID,omitempty"`
	// OrganizationID is the environment's organization id.
	OrganizationID string `json:"organizationID,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=d365c,categories=d365
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Environment",type=string,JSONPath=`.spec.environmentURL`
// +kubebuilder:printcolumn:name="Expires",type=string,format=date-time,JSONPath=`.status.tokenExpiresAt`,description="When the token in the output Secret expires"
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Identity",type=string,JSONPath=`.spec.identityRef.name`,priority=1,description="The ClusterD365Identity it signs in as, if any"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// D365Connection keeps a fresh Entra ID access token for a Dataverse environment in a Secret.
// +kubebuilder:validation:XValidation:rule="(has(self.spec.target) && has(self.spec.target.name)) || size(self.metadata.name) <= 247",message="metadata.name is too long for the default output Secret name <name>-token (at most 253 characters): shorten it or set spec.target.name"
type D365Connection struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec D365ConnectionSpec `json:"spec"`
	// +kubebuilder:default={}
	Status D365ConnectionStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// D365ConnectionList contains a list of D365Connection.
type D365ConnectionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []D365Connection `json:"items"`
}
