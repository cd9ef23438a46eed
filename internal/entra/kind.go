package entra

// Kind says what went wrong with a token request, in Entra ID's terms. It is this package's
// own vocabulary: callers decide what a kind means for them (a condition reason, whether to
// retry), so the package does not depend on any API that presents its errors.
type Kind string

// Kinds of *Error. The first two are transient by nature; the others need a change by the
// user (the credential, the app registration, the tenant or the request), except
// RequestFailed, which is what Entra ID or MSAL said without saying why.
const (
	// Throttled: Entra ID throttled the request (429, AADSTS90055, or 503 with Retry-After).
	Throttled Kind = "Throttled"
	// Unavailable: Entra ID could not be reached, timed out, or answered 5xx.
	Unavailable Kind = "Unavailable"
	// InvalidClientSecret: the client secret is wrong, typically its ID instead of its value
	// (AADSTS7000215).
	InvalidClientSecret Kind = "InvalidClientSecret"
	// ClientSecretExpired: the client secret expired (AADSTS7000222).
	ClientSecretExpired Kind = "ClientSecretExpired"
	// ApplicationNotFound: the client ID is not an app of the tenant (AADSTS700016).
	ApplicationNotFound Kind = "ApplicationNotFound"
	// TenantNotFound: the tenant does not exist in this cloud, or the authority names none.
	TenantNotFound Kind = "TenantNotFound"
	// ResourceNotFound: the tenant does not know the resource (AADSTS500011).
	ResourceNotFound Kind = "ResourceNotFound"
	// InvalidScope: the scope or resource is malformed.
	InvalidScope Kind = "InvalidScope"
	// InteractionRequired: MFA, Conditional Access or consent needs the user.
	InteractionRequired Kind = "InteractionRequired"
	// SignInExpired: a user's sign-in (refresh token, token cache) can no longer be used.
	SignInExpired Kind = "SignInExpired"
	// CredentialRejected: Entra ID rejected the credential or the client authentication.
	CredentialRejected Kind = "CredentialRejected" //nolint:gosec // a kind of refusal, not a credential
	// CertificateRejected: the app registration does not accept the client certificate.
	CertificateRejected Kind = "CertificateRejected"
	// FederatedCredentialMismatch: no federated credential of the app matches the assertion.
	FederatedCredentialMismatch Kind = "FederatedCredentialMismatch"
	// InvalidCredential: the credential cannot be used at all (an unusable key or token
	// cache, a missing client ID); nothing was sent.
	InvalidCredential Kind = "InvalidCredential"
	// RequestFailed: any other failure (an unknown refusal, an unreadable answer, a failed
	// credential source).
	RequestFailed Kind = "RequestFailed"
)

// Kinds lists every Kind, so that a caller's mapping can be checked for completeness.
func Kinds() []Kind {
	return []Kind{
		Throttled, Unavailable, InvalidClientSecret, ClientSecretExpired, ApplicationNotFound,
		TenantNotFound, ResourceNotFound, InvalidScope, InteractionRequired, SignInExpired,
		CredentialRejected, CertificateRejected, FederatedCredentialMismatch, InvalidCredential,
		RequestFailed,
	}
}
