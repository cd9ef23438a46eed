// Package simulator is a local, in-process stand-in for Microsoft Entra ID and the
// Dataverse Web API. Microsoft's services are unreachable from tests, CI and demos, so
// the project ships its own: one TLS listener that answers for the real host names
// (login.microsoftonline.com, contoso.crm.dynamics.com, ...) by routing on the Host
// header, with its own CA. URLs it emits carry no port; clients reach it through a
// host alias map ("host:443" -> "127.0.0.1:PORT", see Server.HostAliases) used by
// their dialer, and verify TLS normally against the CA (Server.CACertPEM).
//
// Entra ID side (per authority host; tenants addressed by GUID or domain):
// OpenID configuration (v2 and v1), instance discovery, JWKS, UserRealm, the v2 and
// v1 token endpoints with the client_credentials (secret in the form or HTTP Basic,
// certificate assertion, federated assertion), password, refresh_token,
// device_code and authorization_code (PKCE) grants, the device code endpoint and a
// sign-in page. Dataverse side (per environment host): the bearer challenge, WhoAmI
// with Dataverse's token validation, application users, administration mode, and
// the admin service's /api/aad/challenge.
//
// The health functions (RetrieveUserPrivileges with an application user's configured
// privileges, RetrieveVersion, RetrieveCurrentOrganization, the privileges entity set) and
// the service protection headers on every authenticated answer follow
// docs/reference/dataverse-health-functions.md, which cites Microsoft Learn for each.
//
// The wire formats (headers, JSON types, error bodies) follow
// shared/reference/dataverse-entra-protocol.md; where that document marks a fact as
// unconfirmed, the simulator's choice is named in a comment and, where it matters,
// configurable. Every time comes from Config.Clock, so tests drive expiry with a
// fake clock; Faults inject throttling and outages; the request log (which never
// holds a credential) lets tests count calls.
//
// Typical use in a test:
//
//	cfg := simulator.DefaultConfig()
//	cfg.Clock = fakeClock
//	srv, err := simulator.Start(cfg)
//	...
//	defer srv.Close()
//	client := srv.HTTPClient() // or: a transport built from srv.HostAliases() and srv.CertPool()
package simulator
