package simulator

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
)

// dataverseAppID is the first-party resource app of Dataverse; Entra ID names it in
// AADSTS50076 messages for Dataverse resources.
const dataverseAppID = "00000007-0000-0000-c000-000000000000"

func errServer(err error) *oauthError {
	return &oauthError{500, "server_error", 50000, "There was an error issuing a token or an issue with our sign-in service. (" + err.Error() + ")", "", ""}
}

// grantClientCredentials: app-only tokens; needs a tenant-specific authority and a
// confidential credential (secret, certificate assertion or federated assertion).
func (s *Server) grantClientCredentials(tr *tokenRequest) (*tokenResult, *oauthError) {
	if e := tr.requireTenant(); e != nil {
		return nil, e
	}
	app, e := tr.app()
	if e != nil {
		return nil, e
	}
	if e := s.parseResource(tr, true); e != nil {
		return nil, e
	}
	acr, e := s.authenticateClient(tr, app, false)
	if e != nil {
		return nil, e
	}
	access, err := s.mintAccessToken(principal{tenant: tr.tenant, app: app, appIDACR: acr}, tr.resource)
	if err != nil {
		return nil, errServer(err)
	}
	return &tokenResult{access: access, resource: tr.resourceEcho}, nil
}

// grantPassword: the resource owner password credentials grant (ROPC). MSAL sends no
// client credential with it, so it works only for apps that allow public client
// flows, unless the caller adds a secret itself.
func (s *Server) grantPassword(tr *tokenRequest) (*tokenResult, *oauthError) {
	username, password := tr.form.Get("username"), tr.form.Get("password")
	if username == "" {
		return nil, errMissingParam("username")
	}
	if password == "" {
		return nil, errMissingParam("password")
	}
	if tr.tenant.ID == "" { // /organizations: the user's home tenant
		for _, t := range s.world.tenantsAt(tr.host) {
			if _, ok := t.user(username); ok {
				tr.tenant = t
			}
		}
		if tr.tenant.ID == "" {
			return nil, errInvalidGrant(50034, "The user account {EUII Hidden} does not exist in the "+tr.seg+" directory. To sign into this application, the account must be added to the directory.")
		}
	}
	app, e := tr.app()
	if e != nil {
		return nil, e
	}
	if e := s.parseResource(tr, false); e != nil {
		return nil, e
	}
	acr, e := s.authenticateClient(tr, app, true)
	if e != nil {
		return nil, e
	}
	user, ok := tr.tenant.user(username)
	if !ok {
		return nil, errInvalidGrant(50034, "The user account {EUII Hidden} does not exist in the "+tr.tenant.ID+" directory. To sign into this application, the account must be added to the directory.")
	}
	if subtle.ConstantTimeCompare([]byte(user.Password), []byte(password)) != 1 || user.Password == "" {
		return nil, errInvalidGrant(50126, "Error validating credentials due to invalid username or password.")
	}
	if user.MFARequired {
		// v2 answers invalid_grant, v1 interaction_required (reference §2.6).
		code := "invalid_grant"
		if tr.v1 {
			code = "interaction_required"
		}
		return nil, &oauthError{400, code, 50076,
			fmt.Sprintf("Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", dataverseAppID),
			"basic_action", `{"access_token":{"capolids":{"essential":true,"values":["` + derivedGUID("mfa-policy", tr.tenant.ID) + `"]}}}`}
	}
	return s.issueUserTokens(tr, principal{tenant: tr.tenant, app: app, user: &user, appIDACR: acr})
}

// grantRefreshToken redeems a refresh token, possibly for another resource; the
// answer carries a new refresh token and the old one stays valid (Entra ID does not
// revoke on use).
func (s *Server) grantRefreshToken(tr *tokenRequest) (*tokenResult, *oauthError) {
	rt := tr.form.Get("refresh_token")
	if rt == "" {
		return nil, errMissingParam("refresh_token")
	}
	g, ok := s.grants.useRefreshToken(rt, s.now())
	if !ok || (tr.tenant.ID != "" && tr.tenant.ID != g.tenantID) || g.clientID != tr.clientID {
		return nil, errInvalidGrant(9002313, "Invalid request. Request is malformed or invalid.")
	}
	if tr.tenant.ID == "" {
		t, ok := s.world.tenantAt(tr.host, g.tenantID)
		if !ok {
			return nil, errInvalidGrant(9002313, "Invalid request. Request is malformed or invalid.")
		}
		tr.tenant = t
	}
	app, e := tr.app()
	if e != nil {
		return nil, e
	}
	if e := s.parseResource(tr, false); e != nil {
		return nil, e
	}
	acr, e := s.authenticateClient(tr, app, true)
	if e != nil {
		return nil, e
	}
	now := s.now()
	if idle := now.Sub(g.lastUsed); idle > refreshInactivity {
		return nil, errInvalidGrant(700082, fmt.Sprintf("The refresh token has expired due to inactivity. The token was issued on %s and was inactive for 90.00:00:00.",
			g.issuedAt.UTC().Format("2006-01-02T15:04:05.0000000Z")))
	}
	if from, revoked := s.grants.revokedAt(g); revoked {
		return nil, errInvalidGrant(50173, fmt.Sprintf("The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.",
			g.issuedAt.UTC().Format("2006-01-02T15:04:05.0000000Z"), from.UTC().Format("2006-01-02T15:04:05.0000000Z")))
	}
	user, ok := tr.tenant.user(g.userOID)
	if !ok {
		return nil, errInvalidGrant(50034, "The user account {EUII Hidden} does not exist in the "+tr.tenant.ID+" directory. To sign into this application, the account must be added to the directory.")
	}
	return s.issueUserTokens(tr, principal{tenant: tr.tenant, app: app, user: &user, appIDACR: acr})
}

// grantDeviceCode polls a device authorization (RFC 8628).
func (s *Server) grantDeviceCode(tr *tokenRequest) (*tokenResult, *oauthError) {
	dc := tr.form.Get("device_code")
	if dc == "" {
		return nil, errMissingParam("device_code")
	}
	d, ok := s.grants.pollDevice(dc)
	if !ok || d.clientID != tr.clientID || (tr.tenant.ID != "" && d.tenantID != "" && tr.tenant.ID != d.tenantID) {
		return nil, errInvalidGrant(70000, "Provided grant is invalid or malformed.")
	}
	switch {
	case d.state == deviceRedeemed:
		return nil, errInvalidGrant(70000, "Provided grant is invalid or malformed.")
	case !s.now().Before(d.expiresAt):
		return nil, &oauthError{400, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.", "", ""}
	case d.state == deviceDeclined:
		return nil, &oauthError{400, "authorization_declined", 70000, "The user declined the authorization request.", "", ""}
	case d.state == devicePending:
		return nil, &oauthError{400, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.", "", ""}
	}
	return s.redeemForUser(tr, d.userTenantID, d.userOID, d.scope)
}

// grantAuthorizationCode redeems a code from the authorize endpoint, with PKCE.
func (s *Server) grantAuthorizationCode(tr *tokenRequest) (*tokenResult, *oauthError) {
	code, redirect := tr.form.Get("code"), tr.form.Get("redirect_uri")
	if code == "" {
		return nil, errMissingParam("code")
	}
	c, ok := s.grants.redeemAuthCode(code)
	switch {
	case !ok || c.clientID != tr.clientID || (tr.tenant.ID != "" && tr.tenant.ID != c.tenantID):
		return nil, errInvalidGrant(70000, "Provided grant is invalid or malformed.")
	case c.redeemed:
		return nil, errInvalidGrant(54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case !s.now().Before(c.expiresAt):
		return nil, errInvalidGrant(70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case redirect != c.redirectURI:
		return nil, errInvalidGrant(70000, "Provided grant is invalid or malformed. The redirect URI does not match the one of the authorization request.")
	case c.challenge != "" && !pkceMatches(c.challenge, c.challengeMethod, tr.form.Get("code_verifier")):
		return nil, errInvalidGrant(50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.")
	}
	return s.redeemForUser(tr, c.tenantID, c.userOID, c.scope)
}

func pkceMatches(challenge, method, verifier string) bool {
	if verifier == "" {
		return false
	}
	if strings.EqualFold(method, "S256") {
		sum := sha256.Sum256([]byte(verifier))
		verifier = b64.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(challenge), []byte(verifier)) == 1
}

// redeemForUser finishes the interactive grants: the user signed in at tenantID.
// The scope of the token request wins; the one of the authorization is the fallback.
func (s *Server) redeemForUser(tr *tokenRequest, tenantID, userOID, scope string) (*tokenResult, *oauthError) {
	t, ok := s.world.tenantAt(tr.host, tenantID)
	if !ok {
		return nil, errInvalidGrant(70000, "Provided grant is invalid or malformed.")
	}
	tr.tenant = t
	if !tr.v1 && tr.form.Get("scope") == "" {
		tr.form.Set("scope", scope)
	}
	app, e := tr.app()
	if e != nil {
		return nil, e
	}
	if e := s.parseResource(tr, false); e != nil {
		return nil, e
	}
	acr, e := s.authenticateClient(tr, app, true)
	if e != nil {
		return nil, e
	}
	user, ok := t.user(userOID)
	if !ok {
		return nil, errInvalidGrant(50034, "The user account {EUII Hidden} does not exist in the "+t.ID+" directory. To sign into this application, the account must be added to the directory.")
	}
	return s.issueUserTokens(tr, principal{tenant: t, app: app, user: &user, appIDACR: acr})
}

// issueUserTokens answers a delegated grant: the access token, a refresh token
// (v2: when offline_access was asked for), an ID token (when openid was), and
// client_info (when client_info=1, which MSAL uses for the home account id).
func (s *Server) issueUserTokens(tr *tokenRequest, p principal) (*tokenResult, *oauthError) {
	access, err := s.mintAccessToken(p, tr.resource)
	if err != nil {
		return nil, errServer(err)
	}
	res := &tokenResult{access: access, resource: tr.resourceEcho, scope: "user_impersonation"}
	scopes := map[string]bool{}
	for sc := range strings.FieldsSeq(tr.form.Get("scope")) {
		scopes[strings.ToLower(sc)] = true
	}
	if !tr.v1 {
		// Echo what was asked for: MSAL reports any requested scope missing from the
		// answer as declined.
		res.scope = tr.form.Get("scope")
	}
	if tr.v1 || scopes["offline_access"] {
		res.refreshToken = s.grants.newRefreshToken(p.tenant.ID, p.app.ClientID, p.user.ObjectID, s.now())
	}
	if tr.v1 || scopes["openid"] {
		if res.idToken, err = s.idToken(tr.host, p); err != nil {
			return nil, errServer(err)
		}
	}
	if tr.form.Get("client_info") == "1" {
		res.clientInfo = clientInfo(p.user.ObjectID, p.tenant.ID)
	}
	return res, nil
}
