package simulator

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

var testAppKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func selfSigned(t *testing.T, key crypto.Signer, notAfter time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "d365 test app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// callErr returns the HTTP status and AADSTS code of an MSAL error.
func callErr(t *testing.T, err error) (int, string) {
	t.Helper()
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) {
		t.Fatalf("want CallErr, got %s", redact(err))
	}
	b, _ := io.ReadAll(ce.Resp.Body)
	return ce.Resp.StatusCode, errorCode(string(b))
}

func TestMSALCertificateCredential(t *testing.T) {
	s, _ := startSim(t)
	cert := selfSigned(t, testAppKey(), time.Now().Add(24*time.Hour))
	s.SetAppCertificates(DemoTenantID, DemoClientID, cert)
	cred, err := confidential.NewCredFromCert([]*x509.Certificate{cert}, testAppKey())
	if err != nil {
		t.Fatal(err)
	}
	c := newConfidential(t, s, "https://login.microsoftonline.com/"+DemoTenantID, DemoClientID, cred, confidential.WithInstanceDiscovery(false))
	res, err := c.AcquireTokenByCredential(context.Background(), []string{demoScope})
	if err != nil {
		t.Fatal(redact(err))
	}
	if claims, _ := s.VerifyToken(res.AccessToken); claims == nil || claims.AppIDACR != "2" {
		t.Errorf("claims %+v", claims)
	}
	// Another certificate registered: the key is not found.
	s.SetAppCertificates(DemoTenantID, DemoClientID, selfSigned(t, testSigningKey(), time.Now().Add(time.Hour)))
	c = newConfidential(t, s, "https://login.microsoftonline.com/"+DemoTenantID, DemoClientID, cred, confidential.WithInstanceDiscovery(false))
	_, err = c.AcquireTokenByCredential(context.Background(), []string{demoScope})
	if status, code := callErr(t, err); status != 401 || code != `{"error":"invalid_client","error_codes":[700027]}` {
		t.Errorf("wrong certificate: %d %s", status, code)
	}
}

// signAssertion makes a service-account-like token signed RS256 by key.
func signAssertion(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(jwtHeader{Alg: "RS256", Kid: "sa-key"})
	p, _ := json.Marshal(claims)
	in := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	d := hashOf(crypto.SHA256, []byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d)
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + b64.EncodeToString(sig)
}

func TestMSALFederatedCredential(t *testing.T) {
	s, clk := startSim(t)
	const issuer = "https://kubernetes.default.svc.cluster.local"
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "RSA", "use": "sig", "kid": "sa-key",
		"n": b64.EncodeToString(testAppKey().N.Bytes()), "e": "AQAB"}}})
	s.SetFederatedCredentials(DemoTenantID, DemoClientID, FederatedCredential{Issuer: issuer, Subject: "system:serviceaccount:team-a:d365", JWKS: string(jwks)})
	subject := "system:serviceaccount:team-a:d365"
	cred := confidential.NewCredFromAssertionCallback(func(context.Context, confidential.AssertionRequestOptions) (string, error) {
		now := clk.Now()
		return signAssertion(t, testAppKey(), map[string]any{"iss": issuer, "sub": subject, "aud": []string{"api://AzureADTokenExchange"},
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}), nil
	})
	acquire := func() error {
		c := newConfidential(t, s, "https://login.microsoftonline.com/"+DemoTenantID, DemoClientID, cred, confidential.WithInstanceDiscovery(false))
		_, err := c.AcquireTokenByCredential(context.Background(), []string{demoScope})
		return err
	}
	if err := acquire(); err != nil {
		t.Fatal(redact(err))
	}
	subject = "system:serviceaccount:team-b:d365"
	if status, code := callErr(t, acquire()); status != 401 || code != `{"error":"invalid_client","error_codes":[700213]}` {
		t.Errorf("wrong subject: %d %s", status, code)
	}
}

// TestMSALUserFlows drives the delegated flows with MSAL's confidential client (the
// public client package would need a module the project does not otherwise use):
// password, refresh through a silent call, and auth code with PKCE.
func TestMSALUserFlows(t *testing.T) {
	s, _ := startSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// MSAL sends no client credential with the password grant: the app must allow
	// public client flows.
	cred, _ := confidential.NewCredFromSecret(DemoClientSecret)
	c := newConfidential(t, s, "https://login.microsoftonline.com/"+DemoTenantDomain, DemoClientID, cred, confidential.WithInstanceDiscovery(false))
	scopes := []string{"https://" + DemoEnvironmentHost + "/user_impersonation"}
	_, err := c.AcquireTokenByUsernamePassword(ctx, scopes, DemoUserUPN, DemoUserPassword)
	if status, code := callErr(t, err); status != 401 || code != `{"error":"invalid_client","error_codes":[7000218]}` {
		t.Errorf("password grant of a confidential-only app: %d %s", status, code)
	}
	s.SetAllowPublicClient(DemoTenantID, DemoClientID, true)
	res, err := c.AcquireTokenByUsernamePassword(ctx, scopes, DemoUserUPN, DemoUserPassword)
	if err != nil {
		t.Fatal(redact(err))
	}
	if r := whoAmI(t, s, DemoEnvironmentHost, res.AccessToken); r.status != 200 || !strings.Contains(r.body, `"UserId":"33dd33dd-ee44-4f55-8a66-77bb77bb77bb"`) {
		t.Errorf("user WhoAmI %d %s", r.status, r.body)
	}
	if res.Account.HomeAccountID != derivedGUID("user", DemoTenantID, DemoUserUPN)+"."+DemoTenantID {
		t.Errorf("home account %q", res.Account.HomeAccountID)
	}
	_, err = c.AcquireTokenByUsernamePassword(ctx, scopes, DemoMFAUserUPN, DemoUserPassword)
	if status, code := callErr(t, err); status != 400 || code != `{"error":"invalid_grant","error_codes":[50076]}` {
		t.Errorf("MFA user: %d %s", status, code)
	}
	_, err = c.AcquireTokenByUsernamePassword(ctx, scopes, DemoUserUPN, "wrong")
	if status, code := callErr(t, err); status != 400 || code != `{"error":"invalid_grant","error_codes":[50126]}` {
		t.Errorf("wrong password: %d %s", status, code)
	}

	// Refresh: a silent call for another resource redeems the refresh token.
	silent, err := c.AcquireTokenSilent(ctx, []string{"https://" + DemoAdminServiceHost + "/user_impersonation"}, confidential.WithSilentAccount(res.Account))
	if err != nil {
		t.Fatal(redact(err))
	}
	if claims, _ := s.VerifyToken(silent.AccessToken); claims == nil || claims.Audience != "https://"+DemoAdminServiceHost || claims.UPN != DemoUserUPN {
		t.Errorf("refreshed token %+v", claims)
	}
	if n := s.CountRequests(func(r Request) bool { return r.Grant == "refresh_token" }); n != 1 {
		t.Errorf("refresh requests %d", n)
	}

	// Auth code + PKCE, the simulator playing the browser; MFA users may sign in.
	codes := make(chan string, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { codes <- r.URL.Query().Get("code") }))
	defer cb.Close()
	authURL, err := c.AuthCodeURL(ctx, DemoClientID, cb.URL, scopes)
	if err != nil {
		t.Fatal(err)
	}
	verifier := "a-verifier-of-at-least-forty-three-characters-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	authURL += "&code_challenge=" + b64.EncodeToString(sum[:]) + "&code_challenge_method=S256"
	if err := s.BrowserSignIn(ctx, authURL, DemoMFAUserUPN); err != nil {
		t.Fatal(err)
	}
	code := <-codes
	if _, err := c.AcquireTokenByAuthCode(ctx, code, cb.URL, scopes, confidential.WithChallenge("wrong-"+verifier)); err == nil {
		t.Error("PKCE mismatch accepted")
	}
	if err := s.BrowserSignIn(ctx, authURL, DemoMFAUserUPN); err != nil {
		t.Fatal(err)
	}
	ares, err := c.AcquireTokenByAuthCode(ctx, <-codes, cb.URL, scopes, confidential.WithChallenge(verifier))
	if err != nil {
		t.Fatal(redact(err))
	}
	if claims, _ := s.VerifyToken(ares.AccessToken); claims == nil || claims.UPN != DemoMFAUserUPN {
		t.Errorf("auth code token %+v", claims)
	}
}

func TestDeviceCodeFlow(t *testing.T) {
	s, _ := startSim(t)
	r := do(t, s, http.MethodPost, "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode", url.Values{
		"client_id": {DemoPublicClientID}, "scope": {"https://" + DemoEnvironmentHost + "/user_impersonation openid offline_access profile"}}, nil)
	var dc struct {
		UserCode        string `json:"user_code"`
		DeviceCode      string `json:"device_code"`
		VerificationURI string `json:"verification_uri"`
		ExpiresIn       int    `json:"expires_in"`
		Interval        int    `json:"interval"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &dc) != nil || dc.ExpiresIn != 900 || dc.Interval != 5 {
		t.Fatalf("devicecode: %d %s", r.status, errorCode(r.body))
	}
	poll := url.Values{"grant_type": {"device_code"}, "client_id": {DemoPublicClientID}, "device_code": {dc.DeviceCode}}
	tokenURL := "https://login.microsoftonline.com/organizations/oauth2/v2.0/token" //nolint:gosec // a URL
	expectEntraError(t, do(t, s, http.MethodPost, tokenURL, poll, nil), 400, "authorization_pending", 70016)

	// The user signs in on the simulator's device login page.
	page := do(t, s, http.MethodPost, dc.VerificationURI, url.Values{"user_code": {dc.UserCode}, "username": {DemoUserUPN}, "password": {DemoUserPassword}}, nil)
	if page.status != 200 || !strings.Contains(page.body, "You have signed in") {
		t.Fatalf("device login page: %d", page.status)
	}
	if r := do(t, s, http.MethodPost, tokenURL, poll, nil); r.status != 200 || !strings.Contains(r.body, `"refresh_token":"`) {
		t.Fatalf("redeem: %d %s", r.status, errorCode(r.body))
	}
	expectEntraError(t, do(t, s, http.MethodPost, tokenURL, poll, nil), 400, "invalid_grant", 70000)
	if err := s.ApproveDeviceCode("NOPE", DemoUserUPN); err == nil {
		t.Error("approved an unknown code")
	}
}

func TestRefreshTokenRevocation(t *testing.T) {
	s, _ := startSim(t)
	rt, err := s.IssueRefreshToken(DemoTenantID, DemoPublicClientID, DemoUserUPN)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {DemoPublicClientID}, "refresh_token": {rt},
		"scope": {"https://" + DemoEnvironmentHost + "/.default openid offline_access profile"}, "client_info": {"1"}}
	r := do(t, s, http.MethodPost, "https://login.microsoftonline.com/organizations/oauth2/v2.0/token", form, nil)
	var ok struct {
		RefreshToken, ClientInfo, IDToken string `json:"-"`
		Raw                               map[string]any
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &ok.Raw) != nil || ok.Raw["refresh_token"] == nil || ok.Raw["client_info"] == nil || ok.Raw["id_token"] == nil {
		t.Fatalf("refresh: %d %s", r.status, errorCode(r.body))
	}
	// A refresh token is bound to the app it was issued to.
	form.Set("client_id", DemoClientID)
	expectEntraError(t, do(t, s, http.MethodPost, v2TokenURL, form, nil), 400, "invalid_grant", 9002313)
	form.Set("client_id", DemoPublicClientID)

	s.SetUserPassword(DemoTenantID, DemoUserUPN, "a-new-password")
	expectEntraError(t, do(t, s, http.MethodPost, v2TokenURL, form, nil), 400, "invalid_grant", 50173)
	// A new sign-in after the revocation works, at the same fake instant.
	rt2, _ := s.IssueRefreshToken(DemoTenantID, DemoPublicClientID, DemoUserUPN)
	form.Set("refresh_token", rt2)
	if r := do(t, s, http.MethodPost, v2TokenURL, form, nil); r.status != 200 {
		t.Errorf("fresh refresh token after revocation: %d %s", r.status, errorCode(r.body))
	}
}
