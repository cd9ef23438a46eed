package v1alpha1

// Condition types. Ready summarizes the others; Reconciling and Stalled follow kstatus so
// that Argo CD, Flux and kubectl wait understand a connection's health.
const (
	// ConditionReady is True when the output Secret holds a valid token and the last health
	// check (if enabled) passed.
	ConditionReady = "Ready"
	// ConditionAuthenticated is True when Entra ID issued the token in the output Secret.
	ConditionAuthenticated = "Authenticated"
	// ConditionHealthy is True when the environment answered WhoAmI with the token.
	ConditionHealthy = "Healthy"
	// ConditionReconciling is True while the operator is working towards Ready.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when nothing will change without a user's action.
	ConditionStalled = "Stalled"
)

// Reasons on success and progress.
const (
	// ReasonTokenIssued: Entra ID issued a token and it is in the output Secret.
	ReasonTokenIssued = "TokenIssued"
	// ReasonWhoAmISucceeded: the environment recognised the token's identity.
	ReasonWhoAmISucceeded = "WhoAmISucceeded"
	// ReasonHealthCheckDisabled: spec.healthCheck.disabled is true.
	ReasonHealthCheckDisabled = "HealthCheckDisabled"
	// ReasonHealthCheckNotApplicable: the endpoint (e.g. the Online Management API) has no WhoAmI.
	ReasonHealthCheckNotApplicable = "HealthCheckNotApplicable"
	// ReasonProgressing: the operator is acquiring or checking a token.
	ReasonProgressing = "Progressing"
	// ReasonSuspended: spec.suspend is true; nothing is called or written.
	ReasonSuspended = "Suspended"
)

// Reasons for problems in the connection's own inputs.
const (
	// ReasonSecretNotFound: a referenced Secret does not exist in the namespace.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonSecretKeyNotFound: a referenced Secret lacks the named key, or it is empty.
	ReasonSecretKeyNotFound = "SecretKeyNotFound"
	// ReasonInvalidClientID: a clientIDRef names a Secret key that does not hold a GUID; the
	// message names the Secret and the key, never the value.
	ReasonInvalidClientID = "InvalidClientID"
	// ReasonInvalidCredential: credential material cannot be used (e.g. an unusable key).
	ReasonInvalidCredential = "InvalidCredential"
	// ReasonAuthModeNotSupported: this operator version cannot sign in with the chosen auth member.
	ReasonAuthModeNotSupported = "AuthModeNotSupported"
	// ReasonServiceAccountNotFound: auth.workloadIdentity names a ServiceAccount that does not
	// exist in the connection's namespace (the only namespace it may come from).
	ReasonServiceAccountNotFound = "ServiceAccountNotFound"
	// ReasonServiceAccountNotConsenting: the ServiceAccount auth.workloadIdentity names lacks
	// the annotation azure.workload.identity/client-id naming the connection's client ID.
	ReasonServiceAccountNotConsenting = "ServiceAccountNotConsenting"
	// ReasonServiceAccountNotAllowed: auth.workloadIdentity names the operator's own
	// ServiceAccount, which no connection may sign in as.
	ReasonServiceAccountNotAllowed = "ServiceAccountNotAllowed"
	// ReasonTemplateInvalid: spec.target.template cannot be rendered (the message names the
	// key and the line, never the token); the Secret keeps its last good content.
	ReasonTemplateInvalid = "TemplateInvalid"
	// ReasonTargetSecretConflict: a Secret of the target name exists and is not owned by this connection.
	ReasonTargetSecretConflict = "TargetSecretConflict"
)

// Reasons for trust and discovery problems.
const (
	// ReasonEnvironmentNotTrusted: the environment host is not a known Dataverse host.
	ReasonEnvironmentNotTrusted = "EnvironmentNotTrusted"
	// ReasonAuthorityNotTrusted: the authority (given or discovered) is not a known Entra ID host.
	ReasonAuthorityNotTrusted = "AuthorityNotTrusted"
	// ReasonAuthorityDiscoveryFailed: the environment did not answer with a usable challenge.
	ReasonAuthorityDiscoveryFailed = "AuthorityDiscoveryFailed"
)

// Reasons Entra ID gives for refusing a token (from the AADSTS code).
const (
	// ReasonInvalidClientSecret: AADSTS7000215, the secret is wrong (often the secret's id, not its value).
	ReasonInvalidClientSecret = "InvalidClientSecret"
	// ReasonClientSecretExpired: AADSTS7000222, the secret has expired.
	ReasonClientSecretExpired = "ClientSecretExpired"
	// ReasonApplicationNotFound: AADSTS700016, no such app in the tenant.
	ReasonApplicationNotFound = "ApplicationNotFound"
	// ReasonTenantNotFound: AADSTS90002, no such tenant in this cloud.
	ReasonTenantNotFound = "TenantNotFound"
	// ReasonResourceNotFound: AADSTS500011, the environment's service principal is not in the tenant.
	ReasonResourceNotFound = "ResourceNotFound"
	// ReasonInvalidScope: AADSTS70011 / 1002012, the requested scope was refused.
	ReasonInvalidScope = "InvalidScope"
	// ReasonCertificateRejected: AADSTS700027 and kin, the app does not accept the certificate's
	// assertion (certificate not uploaded to the app registration, expired, or another app's).
	ReasonCertificateRejected = "CertificateRejected"
	// ReasonFederatedCredentialMismatch: AADSTS700211/700212/700213 and kin, no federated
	// credential of the app matches the ServiceAccount token's issuer, subject and audience.
	ReasonFederatedCredentialMismatch = "FederatedCredentialMismatch"
	// ReasonCredentialRejected: Entra ID refused the credential for another reason.
	ReasonCredentialRejected = "CredentialRejected"
	// ReasonInteractionRequired: MFA or conditional access blocks a non-interactive grant.
	ReasonInteractionRequired = "InteractionRequired"
	// ReasonSignInExpired: the delegated refresh token expired or was revoked; sign in again.
	ReasonSignInExpired = "SignInExpired"
	// ReasonTokenRequestFailed: the token request failed in a way that may pass on retry.
	ReasonTokenRequestFailed = "TokenRequestFailed"
)

// Reasons shared by Entra ID and Dataverse for transient trouble.
const (
	// ReasonThrottled: 429 (or 503) with Retry-After; the operator retries after it.
	ReasonThrottled = "Throttled"
	// ReasonServiceUnavailable: the service could not be reached or answered 5xx.
	ReasonServiceUnavailable = "ServiceUnavailable"
)

// Reasons Dataverse gives on WhoAmI.
const (
	// ReasonApplicationUserNotFound: 403 0x80072560, the app is not an application user of the environment.
	ReasonApplicationUserNotFound = "ApplicationUserNotFound"
	// ReasonEnvironmentAdminMode: the environment is in administration mode.
	ReasonEnvironmentAdminMode = "EnvironmentAdminMode"
	// ReasonAccessDenied: the environment refused the identity (403) for another reason.
	ReasonAccessDenied = "AccessDenied"
	// ReasonTokenRejected: the environment answered 401 to the token.
	ReasonTokenRejected = "TokenRejected"
	// ReasonWhoAmIFailed: WhoAmI failed in a way that may pass on retry.
	ReasonWhoAmIFailed = "WhoAmIFailed"
)

// Reasons of the privilege check (spec.healthCheck.requiredPrivileges).
const (
	// ReasonMissingPrivileges: the application user lacks required privileges (or the depth
	// required), or the prvReadUser privilege needed to read them; the message names them.
	ReasonMissingPrivileges = "MissingPrivileges"
	// ReasonPrivilegeCheckFailed: RetrieveUserPrivileges failed in a way that may pass on retry.
	ReasonPrivilegeCheckFailed = "PrivilegeCheckFailed"
)

// Annotations and labels the operator reads or writes.
const (
	// AnnotationRequestedAt: any new value forces an immediate refresh (echoed in
	// status.lastHandledRequestedAt).
	AnnotationRequestedAt = "d365.operators.dev/requested-at"
	// AnnotationIdentityHash, on the output Secret: a hash of the identity and environment the
	// token was issued for, so a restarted operator can reuse a still-valid token.
	AnnotationIdentityHash = "d365.operators.dev/identity-hash"
	// AnnotationIssuedAt, on the output Secret: when the token was issued (RFC 3339).
	AnnotationIssuedAt = "d365.operators.dev/issued-at"
	// AnnotationTokenDigest, on the output Secret: a SHA-256 of the access token, so that a
	// hand edit of the token is noticed and repaired (a JWT's digest reveals nothing).
	AnnotationTokenDigest = "d365.operators.dev/token-digest"
	// AnnotationTemplateLabels and AnnotationTemplateAnnotations, on the output Secret: the
	// keys spec.target.secretTemplate set, so that a key removed from the template is
	// removed from the Secret while others' keys are left alone.
	AnnotationTemplateLabels      = "d365.operators.dev/template-labels"
	AnnotationTemplateAnnotations = "d365.operators.dev/template-annotations"
	// LabelManagedBy marks output Secrets; the operator caches only Secrets with this label.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is LabelManagedBy's value.
	ManagedByValue = "d365-operator"
)

// TokenCacheKey is the key of a delegated sign-in Secret (auth.delegated.tokenCacheRef) that
// holds MSAL's serialized token cache, written by `d365-operator login` and rewritten by the
// operator when the refresh token rotates.
const TokenCacheKey = "msal_token_cache"

// Keys of the output Secret (the contract with consuming pods).
const (
	SecretKeyAccessToken    = "access_token"
	SecretKeyTokenType      = "token_type"
	SecretKeyExpiresAt      = "expires_at"
	SecretKeyEnvironmentURL = "environment_url"
	SecretKeyWebAPIURL      = "web_api_url"
)

// Reasons for a connection that signs in through a ClusterD365Identity (spec.identityRef).
const (
	// ReasonIdentityNotFound: spec.identityRef names no ClusterD365Identity.
	ReasonIdentityNotFound = "IdentityNotFound"
	// ReasonIdentityNotAllowed: the identity's allowedNamespaces do not include the
	// connection's namespace; no token is requested.
	ReasonIdentityNotAllowed = "IdentityNotAllowed"
)

// Reasons on a ClusterD365Identity's Ready condition (besides the credential reasons above).
const (
	// ReasonCredentialResolved: the credential material resolves; no connection used it yet.
	ReasonCredentialResolved = "CredentialResolved"
	// ReasonCredentialAccepted: Entra ID issued a token for the identity.
	ReasonCredentialAccepted = "CredentialAccepted"
)
