package simulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"log"
	"time"

	"k8s.io/utils/clock"
)

// DefaultTokenLifetime is the access-token lifetime when Config.TokenLifetime is zero:
// Entra ID's default is random between 60 and 90 minutes, 75 on average.
const DefaultTokenLifetime = 75 * time.Minute

// DefaultAuthorityHost is the Entra authority host of a Tenant that names none.
const DefaultAuthorityHost = "login.microsoftonline.com"

// Config describes the simulated world: the Entra tenants with their apps and users,
// and the Dataverse environments. Start copies it; change the world afterwards with the
// Server's Set*/Add*/Remove* methods.
type Config struct {
	// Clock is the source of every time the simulator uses: token iat/nbf/exp, secret
	// expiry, token validation, fault deadlines, error timestamps. Nil means the real
	// clock. TLS certificate validity always uses the real clock (clients check it).
	Clock clock.PassiveClock `json:"-"`
	// TokenLifetime of access tokens; zero means DefaultTokenLifetime.
	TokenLifetime time.Duration `json:"tokenLifetime,omitempty"`
	// RefreshIn, when non-zero, is sent as refresh_in (seconds) in token responses,
	// which makes MSAL refresh proactively. Zero omits it, like most Entra responses.
	RefreshIn time.Duration `json:"refreshIn,omitempty"`
	// ListenAddr is the TCP address to listen on; default "127.0.0.1:0".
	ListenAddr string `json:"listenAddr,omitempty"`
	// Tenants are the Entra ID directories.
	Tenants []Tenant `json:"tenants,omitempty"`
	// Environments are the Dataverse environments (and admin service hosts).
	Environments []Environment `json:"environments,omitempty"`
	// ExtraHosts are more names on the certificate that answer like an Entra host
	// without tenants (e.g. "login.evil.example" for trust tests).
	ExtraHosts []string `json:"extraHosts,omitempty"`
	// CACertPEM optionally gives the CA certificate (RSA or ECDSA key) so that
	// clients keep trusting the simulator across restarts; nil generates a CA.
	CACertPEM []byte `json:"-"`
	// CAKeyPEM is the private key of CACertPEM; given with it or not at all.
	CAKeyPEM []byte `json:"-"`
	// SigningKey optionally gives the RSA key that signs tokens; nil generates one.
	SigningKey *rsa.PrivateKey `json:"-"`
	// ErrorLog receives the HTTP server's own errors (TLS handshakes, ...); nil discards.
	ErrorLog *log.Logger `json:"-"`
}

// Tenant is an Entra ID directory.
type Tenant struct {
	// ID is the tenant GUID.
	ID string `json:"id"`
	// Domain is a verified domain (e.g. contoso.onmicrosoft.com); the tenant can be
	// addressed in URLs by ID or Domain.
	Domain string `json:"domain,omitempty"`
	// DisplayName appears in some error messages; default Domain, else ID.
	DisplayName string `json:"displayName,omitempty"`
	// AuthorityHost is the login host of the tenant's cloud; default
	// DefaultAuthorityHost. Sovereign clouds use e.g. login.microsoftonline.us.
	AuthorityHost string `json:"authorityHost,omitempty"`
	// Apps are the app registrations (with their service principals) of the tenant.
	Apps []App `json:"apps,omitempty"`
	// Users are the tenant's user accounts.
	Users []User `json:"users,omitempty"`
}

// App is an app registration and its service principal.
type App struct {
	// ClientID is the application (client) id.
	ClientID string `json:"clientID"`
	// ObjectID is the service principal's object id: the oid of app-only tokens.
	ObjectID string `json:"objectID,omitempty"`
	// DisplayName is informational.
	DisplayName string `json:"displayName,omitempty"`
	// Secrets are the client secrets.
	Secrets []Secret `json:"secrets,omitempty"`
	// Certificates verify client assertions signed by the app (private_key_jwt).
	Certificates []*x509.Certificate `json:"-"`
	// CertificatesPEM are more certificates, PEM encoded (for YAML configs).
	CertificatesPEM []string `json:"certificatesPEM,omitempty"`
	// FederatedCredentials are the workload identity federation trusts of the app.
	FederatedCredentials []FederatedCredential `json:"federatedCredentials,omitempty"`
	// AllowPublicClient lets public-client flows (password, device code, auth code,
	// refresh) succeed without client authentication ("Allow public client flows").
	AllowPublicClient bool `json:"allowPublicClient,omitempty"`
	// RedirectURIs for the authorization code flow; empty allows any loopback
	// http://localhost or http://127.0.0.1 URI (what MSAL's interactive flow uses).
	RedirectURIs []string `json:"redirectURIs,omitempty"`
}

// Secret is a client secret of an App.
type Secret struct {
	// Value is the secret text that clients send.
	Value string `json:"value"`
	// ExpiresAt is when the secret stops working; zero means never.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// FederatedCredential is a workload identity federation trust: a client assertion
// issued by Issuer for Subject with Audience is accepted in place of a secret.
type FederatedCredential struct {
	// Issuer must equal the assertion's iss (case-sensitive, like Entra ID).
	Issuer string `json:"issuer"`
	// Subject must equal the assertion's sub.
	Subject string `json:"subject"`
	// Audience must be among the assertion's aud; default "api://AzureADTokenExchange".
	Audience string `json:"audience,omitempty"`
	// Keys verify the assertion's signature (RSA or ECDSA public keys). Entra ID
	// fetches the issuer's JWKS over the network; the simulator is given the keys
	// instead, so it never dials out.
	Keys []crypto.PublicKey `json:"-"`
	// JWKS is a JSON Web Key Set document (the issuer's jwks_uri content) with more
	// verification keys, for YAML configs.
	JWKS string `json:"jwks,omitempty"`
}

// User is a user account of a Tenant.
type User struct {
	// ObjectID is the user's object id (oid).
	ObjectID string `json:"objectID,omitempty"`
	// UserPrincipalName is the sign-in name, e.g. alice@contoso.onmicrosoft.com.
	UserPrincipalName string `json:"userPrincipalName"`
	// DisplayName is the name claim; default the UPN.
	DisplayName string `json:"displayName,omitempty"`
	// Password for the password grant and the simulated sign-in pages.
	Password string `json:"password,omitempty"`
	// MFARequired makes the password grant fail with AADSTS50076 (interactive flows,
	// which would do MFA in the browser, still succeed).
	MFARequired bool `json:"mfaRequired,omitempty"`
}

// Environment is a Dataverse environment (or an admin service host).
type Environment struct {
	// Host is the environment's host name, e.g. "contoso.crm.dynamics.com".
	Host string `json:"host"`
	// TenantID is the GUID of the tenant that owns the environment.
	TenantID string `json:"tenantID"`
	// OrganizationID is returned by WhoAmI; default derived from Host.
	OrganizationID string `json:"organizationID,omitempty"`
	// BusinessUnitID is returned by WhoAmI; default derived from Host.
	BusinessUnitID string `json:"businessUnitID,omitempty"`
	// ApplicationUsers are the app registrations that are application users.
	ApplicationUsers []ApplicationUser `json:"applicationUsers,omitempty"`
	// Users are the (human) users of the environment, for delegated tokens.
	Users []EnvironmentUser `json:"users,omitempty"`
	// AdminMode puts the environment in administration mode: only system
	// administrators get in.
	AdminMode bool `json:"adminMode,omitempty"`
	// AdminModeStatus is the HTTP status in administration mode; default 403. Like
	// AdminModeErrorCode it is unconfirmed: only the message is documented.
	AdminModeStatus int `json:"adminModeStatus,omitempty"`
	// AdminModeErrorCode is the OData error code in administration mode; default
	// "0x80040220" (the privilege-denied code).
	AdminModeErrorCode string `json:"adminModeErrorCode,omitempty"`
	// AdminService marks an admin.services.crm*.dynamics.com host: it challenges on
	// /api/aad/challenge and has no Web API (no WhoAmI).
	AdminService bool `json:"adminService,omitempty"`
	// Version is what RetrieveVersion returns; default DefaultVersion.
	Version string `json:"version,omitempty"`
	// FriendlyName, UniqueName and URLName are RetrieveCurrentOrganization's
	// OrganizationDetail; defaults derived from the host's first label.
	FriendlyName string `json:"friendlyName,omitempty"`
	UniqueName   string `json:"uniqueName,omitempty"`
	URLName      string `json:"urlName,omitempty"`
	// OmitPrivilegeNames makes RetrieveUserPrivileges answer without PrivilegeName, as
	// older versions do (RolePrivilege had only Depth, PrivilegeId and BusinessUnitId);
	// clients then resolve names through the privileges entity set.
	OmitPrivilegeNames bool `json:"omitPrivilegeNames,omitempty"`
	// RateLimit sets the service protection headers sent on every authenticated Web API
	// answer; zero values: counted requests (6000 per 300 s window) and "1,200.00".
	RateLimit RateLimitHeaders `json:"rateLimit,omitzero"`
}

// DefaultVersion is what RetrieveVersion returns when Environment.Version is empty.
const DefaultVersion = "9.2.25013.169"

// RateLimitHeaders are the values of Dataverse's service protection headers.
type RateLimitHeaders struct {
	// BurstRemaining is x-ms-ratelimit-burst-remaining-xrm-requests verbatim (e.g. "5999");
	// empty counts the caller's requests in the current window.
	BurstRemaining string `json:"burstRemaining,omitempty"`
	// TimeRemaining is x-ms-ratelimit-time-remaining-xrm-requests verbatim; default
	// "1,200.00" (seconds, thousands separator, two decimals).
	TimeRemaining string `json:"timeRemaining,omitempty"`
}

// Privilege is a privilege an application user holds through its security roles.
type Privilege struct {
	// Name as Dataverse spells it, e.g. "prvReadAccount".
	Name string `json:"name"`
	// Depth is Basic, Local, Deep or Global; default Global.
	Depth string `json:"depth,omitempty"`
}

// ApplicationUser binds an app registration to a Dataverse system user.
type ApplicationUser struct {
	// ClientID is the app registration's client id.
	ClientID string `json:"clientID"`
	// UserID is the systemuserid that WhoAmI returns.
	UserID string `json:"userID,omitempty"`
	// SystemAdministrator lets the user in while the environment is in admin mode.
	SystemAdministrator bool `json:"systemAdministrator,omitempty"`
	// Privileges the user holds, as RetrieveUserPrivileges reports them. Reading them
	// takes prvReadUser, like in Dataverse: without it the call is refused with 403
	// 0x80040220 ("Principal user … is missing prvReadUser privilege").
	Privileges []Privilege `json:"privileges,omitempty"`
}

// EnvironmentUser binds an Entra user to a Dataverse system user.
type EnvironmentUser struct {
	// ObjectID is the Entra user's object id.
	ObjectID string `json:"objectID"`
	// UserID is the systemuserid that WhoAmI returns.
	UserID string `json:"userID,omitempty"`
	// SystemAdministrator lets the user in while the environment is in admin mode.
	SystemAdministrator bool `json:"systemAdministrator,omitempty"`
}
