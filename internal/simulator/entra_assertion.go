package simulator

import (
	"crypto"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint (RFC 7515)
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// assertionSkew is the clock skew allowed for client assertions' nbf.
const assertionSkew = 5 * time.Minute

const certDocs = "Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials ."

const ficDocs = "Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"

// verifyClientAssertion authenticates a client by a JWT assertion (private_key_jwt).
// An assertion the app signed itself (iss = client id) is checked against the app's
// certificates; any other issuer must match a federated identity credential.
func (s *Server) verifyClientAssertion(tr *tokenRequest, app App, raw string) *oauthError {
	tok, err := parseJWT(raw)
	var claims map[string]any
	if err == nil {
		err = tok.decodeClaims(&claims)
	}
	if err != nil {
		return &oauthError{400, "invalid_request", 50027, "JWT token is invalid or malformed.", "", ""}
	}
	iss, _ := claims["iss"].(string)
	if strings.EqualFold(iss, app.ClientID) {
		return s.verifyCertificateAssertion(tr, app, tok, claims)
	}
	return s.verifyFederatedAssertion(app, tok, claims, iss)
}

// verifyCertificateAssertion checks MSAL's certificate assertion: iss = sub = client
// id, aud = the token endpoint it was sent to, signed by a registered certificate
// (found by the x5t#S256 or x5t header).
func (s *Server) verifyCertificateAssertion(tr *tokenRequest, app App, tok *jwt, claims map[string]any) *oauthError {
	if sub, _ := claims["sub"].(string); !strings.EqualFold(sub, app.ClientID) {
		return errInvalidClient(700021, "Client assertion application identifier doesn't match 'client_id' parameter. "+certDocs)
	}
	if !s.audienceIsTokenEndpoint(tr, audiences(claims)) {
		return errInvalidClient(700023, "Client assertion audience claim does not match Realm issuer. "+certDocs)
	}
	if e := s.checkAssertionTimes(claims, certDocs); e != nil {
		return e
	}
	thumb, match := assertionKeySelector(tok.header)
	var found *x509.Certificate
	for _, c := range app.Certificates {
		if match(c) {
			found = c
			break
		}
	}
	keyMsg := fmt.Sprintf(", Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", thumb, app.ClientID)
	if found == nil {
		return errInvalidClient(700027, "Client assertion contains an invalid signature. [Reason - The key was not found."+keyMsg)
	}
	if !s.now().Before(found.NotAfter) {
		return errInvalidClient(700027, "Client assertion contains an invalid signature. [Reason - The key used is expired."+keyMsg)
	}
	if tok.verifySignature(found.PublicKey) != nil {
		return errInvalidClient(700027, "Client assertion contains an invalid signature. [Reason - Key was found, but use of the key to verify the signature failed."+keyMsg)
	}
	return nil
}

// assertionKeySelector returns the thumbprint the client named (upper-case hex, as
// Entra ID prints it) and a matcher for registered certificates. Without a
// thumbprint header every certificate is tried.
func assertionKeySelector(h jwtHeader) (string, func(*x509.Certificate) bool) {
	if raw, err := b64.DecodeString(h.X5tS256); err == nil && len(raw) > 0 {
		return strings.ToUpper(hex.EncodeToString(raw)), func(c *x509.Certificate) bool {
			sum := sha256.Sum256(c.Raw)
			return string(sum[:]) == string(raw)
		}
	}
	if raw, err := b64.DecodeString(h.X5t); err == nil && len(raw) > 0 {
		return strings.ToUpper(hex.EncodeToString(raw)), func(c *x509.Certificate) bool {
			sum := sha1.Sum(c.Raw) //nolint:gosec // x5t is a SHA-1 thumbprint
			return string(sum[:]) == string(raw)
		}
	}
	return "", func(*x509.Certificate) bool { return true }
}

// audienceIsTokenEndpoint accepts the v2 or v1 token endpoint of the tenant, named
// by GUID, domain or the segment the request used, on the request's host.
func (s *Server) audienceIsTokenEndpoint(tr *tokenRequest, auds []string) bool {
	for _, aud := range auds {
		aud = strings.ToLower(strings.TrimSuffix(aud, "/"))
		for _, seg := range []string{tr.tenant.ID, tr.tenant.Domain, strings.ToLower(tr.seg)} {
			if seg == "" {
				continue
			}
			base := "https://" + tr.host + "/" + seg + "/oauth2/"
			if aud == base+"v2.0/token" || aud == base+"token" {
				return true
			}
		}
	}
	return false
}

// checkAssertionTimes requires exp in the future and nbf not too far ahead.
func (s *Server) checkAssertionTimes(claims map[string]any, docs string) *oauthError {
	now := s.now()
	exp, hasExp := numericDate(claims, "exp")
	nbf, hasNbf := numericDate(claims, "nbf")
	if !hasExp || !now.Before(exp) || (hasNbf && nbf.After(now.Add(assertionSkew))) {
		f := func(t time.Time) string { return t.UTC().Format("01/02/2006 15:04:05") }
		return errInvalidClient(700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. %s",
			f(now), f(nbf), f(exp), docs))
	}
	return nil
}

// verifyFederatedAssertion checks a workload identity federation assertion (e.g. a
// Kubernetes service-account token): issuer, signature by that issuer's keys,
// subject, audience and times, each failure with Entra ID's code for it. Matching is
// case-sensitive, like Entra ID's since 2025.
func (s *Server) verifyFederatedAssertion(app App, tok *jwt, claims map[string]any, iss string) *oauthError {
	var byIssuer []FederatedCredential
	var keys []crypto.PublicKey
	for _, f := range app.FederatedCredentials {
		if f.Issuer == iss {
			byIssuer = append(byIssuer, f)
			keys = append(keys, f.Keys...)
		}
	}
	if len(byIssuer) == 0 {
		return errInvalidClient(700211, fmt.Sprintf("No matching federated identity record found for presented assertion issuer '%s'. %s", iss, ficDocs))
	}
	verified := false
	for _, k := range keys {
		if tok.verifySignature(k) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return errInvalidClient(700027, fmt.Sprintf("Client assertion contains an invalid signature. [Reason - The key was not found., Key id used by client: '%s', issuer '%s'.]", tok.header.Kid, iss))
	}
	sub, _ := claims["sub"].(string)
	var bySubject []FederatedCredential
	for _, f := range byIssuer {
		if f.Subject == sub {
			bySubject = append(bySubject, f)
		}
	}
	if len(bySubject) == 0 {
		return errInvalidClient(700213, fmt.Sprintf("No matching federated identity record found for presented assertion subject '%s'. %s", sub, ficDocs))
	}
	auds := audiences(claims)
	matched := false
	for _, f := range bySubject {
		for _, a := range auds {
			matched = matched || a == f.Audience
		}
	}
	if !matched {
		return errInvalidClient(700212, fmt.Sprintf("No matching federated identity record found for presented assertion audience '%s'. %s", strings.Join(auds, ","), ficDocs))
	}
	return s.checkAssertionTimes(claims, ficDocs)
}
