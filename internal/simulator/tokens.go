package simulator

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// TokenClaims are the claims of the v1 access tokens the simulator issues, the
// format Dataverse receives (accessTokenAcceptedVersion 1). Times are Unix seconds.
type TokenClaims struct {
	Audience         string   `json:"aud"`
	Issuer           string   `json:"iss"`
	IssuedAt         int64    `json:"iat"`
	NotBefore        int64    `json:"nbf"`
	ExpiresAt        int64    `json:"exp"`
	ACR              string   `json:"acr,omitempty"`
	AMR              []string `json:"amr,omitempty"`
	AppID            string   `json:"appid"`
	AppIDACR         string   `json:"appidacr"`
	AuthorizedParty  string   `json:"azp,omitempty"`
	IdentityProvider string   `json:"idp,omitempty"`
	IDType           string   `json:"idtyp"`
	Name             string   `json:"name,omitempty"`
	ObjectID         string   `json:"oid"`
	Scope            string   `json:"scp,omitempty"`
	Subject          string   `json:"sub"`
	TenantID         string   `json:"tid"`
	UniqueName       string   `json:"unique_name,omitempty"`
	UPN              string   `json:"upn,omitempty"`
	UTI              string   `json:"uti"`
	Version          string   `json:"ver"`
}

// IsApp reports whether the token is app-only (client credentials).
func (c TokenClaims) IsApp() bool { return c.IDType == idTypeApp }

// idTypeApp is the idtyp claim of app-only tokens.
const idTypeApp = "app"

// issueBackdate is how far iat and nbf lie before the issue time. Entra ID backdates
// them by five minutes so that a slightly slow resource clock accepts a fresh token;
// the v1 responses show expires_on - not_before = expires_in + 300.
const issueBackdate = 5 * time.Minute

// principal is who a token is issued to: an app alone, or a user through an app.
type principal struct {
	tenant   Tenant
	app      App
	user     *User  // nil for app-only tokens
	appIDACR string // "0" public client, "1" secret, "2" certificate or assertion
}

// issued is a minted access token with its times.
type issued struct {
	token     string
	issuedAt  time.Time // the real issue time (not backdated)
	expiresAt time.Time
	lifetime  time.Duration
	refreshIn time.Duration
}

// mintAccessToken issues a v1 access token for resource (an origin, no trailing
// slash) with the current lifetime.
func (s *Server) mintAccessToken(p principal, resource string) (issued, error) {
	now := s.now()
	lifetime, refreshIn := s.world.tokenLifetime()
	iss := v1Issuer(p.tenant.AuthorityHost, p.tenant.ID)
	c := TokenClaims{
		Audience:  strings.TrimSuffix(resource, "/"),
		Issuer:    iss,
		IssuedAt:  now.Add(-issueBackdate).Unix(),
		NotBefore: now.Add(-issueBackdate).Unix(),
		ExpiresAt: now.Add(lifetime).Unix(),
		AppID:     p.app.ClientID,
		AppIDACR:  p.appIDACR,
		// azp is a v2 claim; it is added because some validators read it.
		AuthorizedParty: p.app.ClientID,
		TenantID:        p.tenant.ID,
		UTI:             randomID(16),
		Version:         "1.0",
	}
	if p.user == nil {
		c.IDType = idTypeApp
		c.IdentityProvider = iss
		c.ObjectID = p.app.ObjectID
		c.Subject = p.app.ObjectID
	} else {
		c.IDType = "user"
		c.ACR = "1"
		c.AMR = []string{"pwd"}
		c.Name = p.user.DisplayName
		c.ObjectID = p.user.ObjectID
		c.Scope = "user_impersonation"
		c.Subject = pairwiseSubject(p.user.ObjectID, p.app.ClientID)
		c.UniqueName = p.user.UserPrincipalName
		c.UPN = p.user.UserPrincipalName
	}
	tok, err := s.signer.sign(c)
	if err != nil {
		return issued{}, err
	}
	return issued{token: tok, issuedAt: now, expiresAt: time.Unix(c.ExpiresAt, 0), lifetime: lifetime, refreshIn: refreshIn}, nil
}

// pairwiseSubject is the user's sub claim: stable per (user, app) and different from
// the oid, like Entra ID's pairwise subjects.
func pairwiseSubject(oid, clientID string) string {
	sum := sha256.Sum256([]byte(oid + "|" + clientID))
	return b64.EncodeToString(sum[:])[:43]
}

// idToken is a v2 ID token for the user of p, issued by host.
func (s *Server) idToken(host string, p principal) (string, error) {
	now := s.now()
	lifetime, _ := s.world.tokenLifetime()
	return s.signer.sign(struct {
		Aud               string `json:"aud"`
		Iss               string `json:"iss"`
		Iat               int64  `json:"iat"`
		Nbf               int64  `json:"nbf"`
		Exp               int64  `json:"exp"`
		Name              string `json:"name"`
		Oid               string `json:"oid"`
		PreferredUsername string `json:"preferred_username"`
		Sub               string `json:"sub"`
		Tid               string `json:"tid"`
		Uti               string `json:"uti"`
		Ver               string `json:"ver"`
	}{
		Aud: p.app.ClientID, Iss: "https://" + host + "/" + p.tenant.ID + "/v2.0",
		Iat: now.Add(-issueBackdate).Unix(), Nbf: now.Add(-issueBackdate).Unix(), Exp: now.Add(lifetime).Unix(),
		Name: p.user.DisplayName, Oid: p.user.ObjectID, PreferredUsername: p.user.UserPrincipalName,
		Sub: pairwiseSubject(p.user.ObjectID, p.app.ClientID), Tid: p.tenant.ID, Uti: randomID(16), Ver: "2.0",
	})
}

// clientInfo is the client_info value MSAL derives the home account id from.
func clientInfo(oid, tid string) string {
	b, _ := json.Marshal(map[string]string{"uid": oid, "utid": tid})
	return b64.EncodeToString(b)
}

// VerifyToken checks that raw was signed by this simulator and returns its claims.
// It does not check times, audience or tenant.
func (s *Server) VerifyToken(raw string) (*TokenClaims, error) {
	var c TokenClaims
	if err := s.signer.verify(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// SignToken signs arbitrary claims with the simulator's token key, for tests that
// need a token the token endpoint would not issue (wrong tenant, odd audience...).
func (s *Server) SignToken(c TokenClaims) (string, error) { return s.signer.sign(c) }

// IssueAppToken mints an app-only access token as if clientID had used client
// credentials at tenantID for resource (e.g. "https://contoso.crm.dynamics.com"),
// without a network call. It fails if the tenant or app does not exist.
func (s *Server) IssueAppToken(tenantID, clientID, resource string) (string, time.Time, error) {
	p, err := s.principalFor(tenantID, clientID, "")
	if err != nil {
		return "", time.Time{}, err
	}
	t, err := s.mintAccessToken(p, resource)
	return t.token, t.expiresAt, err
}

func (s *Server) principalFor(tenantID, clientID, upn string) (principal, error) {
	s.world.mu.RLock()
	t := s.world.tenant(tenantID)
	var tc Tenant
	if t != nil {
		tc = *t
	}
	s.world.mu.RUnlock()
	if t == nil {
		return principal{}, fmt.Errorf("simulator: unknown tenant %q", tenantID)
	}
	app, ok := tc.app(clientID)
	if !ok {
		return principal{}, fmt.Errorf("simulator: unknown app %q in tenant %s", clientID, tc.ID)
	}
	p := principal{tenant: tc, app: app, appIDACR: "1"}
	if upn != "" {
		u, ok := tc.user(upn)
		if !ok {
			return principal{}, fmt.Errorf("simulator: unknown user %q in tenant %s", upn, tc.ID)
		}
		p.user = &u
	}
	return p, nil
}
