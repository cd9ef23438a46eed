package entra

import (
	"fmt"
	"net/http"
)

// AADSTS codes the operator explains. Sources: Entra ID's error-code reference and the
// responses recorded in the protocol reference.
var (
	// throttleCodes: AADSTS90055 TenantThrottlingError, AADSTS50196 LoopDetected.
	throttleCodes = codes(90055, 50196)
	// tenantCodes: AADSTS90002 tenant not found, AADSTS900023 malformed tenant identifier.
	tenantCodes = codes(90002, 900023)
	// scopeCodes: AADSTS70011 invalid scope, AADSTS1002012 no /.default, AADSTS700022 two resources.
	scopeCodes = codes(70011, 1002012, 700022)
	// interactionCodes: MFA (50072, 50074, 50076, 50079), external security challenge
	// (50158), Conditional Access (53000–53003) and missing consent (65001).
	interactionCodes = codes(50072, 50074, 50076, 50079, 50158, 53000, 53001, 53002, 53003, 65001)
	// signInCodes: refresh token expired or revoked (700082, 700084, 50173, 70008, 70043),
	// session invalidated by a password change (50133), flow token expired (50089, 54005).
	signInCodes = codes(700082, 700084, 50173, 70008, 70043, 50133, 50089, 54005)
	// credentialCodes: no credential sent (7000218), bad or expired assertion (700027,
	// 700024), no matching federated credential (70021), app disabled (7000112), wrong
	// user name or password (50126).
	credentialCodes = codes(7000218, 700027, 700024, 70021, 7000112, 50126)
)

// OAuth error codes (RFC 6749 §5.2) that change what a refusal means.
const (
	oauthInvalidClient = "invalid_client"
	oauthInvalidGrant  = "invalid_grant"
)

func codes(cs ...int) map[int]bool {
	m := make(map[int]bool, len(cs))
	for _, c := range cs {
		m[c] = true
	}
	return m
}

// kindFor maps an Entra ID answer to a Kind. Throttling and outages come first: they say
// nothing about the credential.
func kindFor(e *Error, hasRetryAfter bool) Kind {
	code, oauth, status := e.AADSTS, e.ErrorCode, e.StatusCode
	switch {
	case status == http.StatusTooManyRequests || throttleCodes[code]:
		return Throttled
	case (status == http.StatusServiceUnavailable || oauth == "temporarily_unavailable") && hasRetryAfter:
		return Throttled
	case status >= 500 || oauth == "temporarily_unavailable":
		return Unavailable
	case code == 7000215:
		return InvalidClientSecret
	case code == 7000222:
		return ClientSecretExpired
	case code == 700016:
		return ApplicationNotFound
	case tenantCodes[code] || oauth == "invalid_tenant":
		return TenantNotFound
	case code == 500011 || oauth == "invalid_resource":
		return ResourceNotFound
	case scopeCodes[code] || oauth == "invalid_scope":
		return InvalidScope
	case interactionCodes[code] || oauth == "interaction_required":
		return InteractionRequired
	case signInCodes[code]:
		return SignInExpired
	case credentialCodes[code] || oauth == oauthInvalidClient || oauth == "unauthorized_client":
		return CredentialRejected
	}
	return RequestFailed
}

// adviceFor says what the user can do about e.
func adviceFor(e *Error, id Identity, tenant string) string {
	switch e.Kind {
	case Throttled:
		if e.RetryAfter > 0 {
			return fmt.Sprintf("Entra ID is throttling token requests; retrying after %s.", e.RetryAfter)
		}
		return "Entra ID is throttling token requests; retrying later."
	case Unavailable:
		return "Entra ID is unavailable; retrying."
	case InvalidClientSecret:
		return "Put the client secret's VALUE, not its secret ID, in the referenced Secret."
	case ClientSecretExpired:
		return "Create a new client secret in the app registration (Certificates & secrets) and update the referenced Secret."
	case ApplicationNotFound:
		return fmt.Sprintf("Check %s and that tenant %s, in this cloud, is where the app is registered (or consented).", id.clientIDShown(), tenant)
	case TenantNotFound:
		return fmt.Sprintf("Check the tenant ID %s and that the authority host is the tenant's cloud (login.microsoftonline.com, login.microsoftonline.us, login.partner.microsoftonline.cn).", tenant)
	case ResourceNotFound:
		return fmt.Sprintf("Tenant %s does not know the environment: check that the environment belongs to this tenant, and that the app has been consented there.", tenant)
	case InvalidScope:
		return "Check spec.environmentURL: the scope is the environment URL followed by /.default."
	case InteractionRequired:
		return "Multi-factor authentication or Conditional Access blocks this non-interactive sign-in; exclude the identity from the policy or use an application credential."
	case SignInExpired:
		return "The user's sign-in has expired or was revoked; sign in again to renew the token cache."
	case CredentialRejected:
		return "Check the client ID and the credential in the referenced Secret against the app registration."
	}
	return ""
}
