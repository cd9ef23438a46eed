package entra

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func rsaPEM(t *testing.T, pkcs1 bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = selfSigned(t, key, &key.PublicKey)
	if pkcs1 {
		return certPEM, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func selfSigned(t *testing.T, key, pub any) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestClientCertificateFromPEM(t *testing.T) {
	certPEM, pkcs8 := rsaPEM(t, false)
	_, pkcs1 := rsaPEM(t, true)
	certPEM1, pkcs1Own := rsaPEM(t, true)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	ecCert := selfSigned(t, ecKey, &ecKey.PublicKey)
	legacy := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{1}})
	tests := []struct {
		name          string
		cert, key     []byte
		wantMentioned string // "" for success
	}{
		{"a PKCS #8 RSA key", certPEM, pkcs8, ""},
		{"a PKCS #1 RSA key", certPEM1, pkcs1Own, ""},
		{"a chain with the leaf last", append(slices.Clip(certPEM1), certPEM...), pkcs8, ""},
		{"a key of another certificate", certPEM, pkcs1, "belong together"},
		{"a SEC 1 ECDSA key", ecCert, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), "RSA only"},
		{"a legacy encrypted key", certPEM, legacy, "encrypted"},
		{"no key", certPEM, []byte("nothing"), "no PEM private key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := ClientCertificateFromPEM(tc.cert, tc.key)
			if tc.wantMentioned == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s := fmt.Sprintf("%v %+v %#v", cred, cred, cred); strings.Contains(s, "PRIVATE") || !strings.Contains(s, "ClientCertificate(") {
					t.Errorf("prints as %q", s)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != InvalidCredential || !strings.Contains(e.Message, tc.wantMentioned) {
				t.Fatalf("got %v, want InvalidCredential mentioning %q", err, tc.wantMentioned)
			}
		})
	}
	if _, err := ClientCertificate(nil, ecKey); err == nil || !strings.Contains(err.Error(), "ECDSA") {
		t.Errorf("ClientCertificate with an ECDSA key: %v", err)
	}
}

func TestCredentialKindsIdentityKeys(t *testing.T) {
	certA, keyA := rsaPEM(t, false)
	certB, keyB := rsaPEM(t, false)
	cert := func(c, k []byte) Credential {
		cred, err := ClientCertificateFromPEM(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	mint := func(context.Context) (string, error) { return "a-new-token-each-time", nil }
	cacheAt := func(source, home, rt string) Credential {
		cred, err := Delegated(DelegatedOptions{Cache: testCache(home, rt), Source: source})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	cache := func(home, rt string) Credential { return cacheAt("team-a/signin", home, rt) }
	key := func(c Credential) string {
		return Identity{Authority: "https://login.microsoftonline.com/t/", ClientID: "c", Credential: c}.Key()
	}
	tests := []struct {
		name     string
		a, b     Credential
		wantSame bool
	}{
		{"the same certificate", cert(certA, keyA), cert(certA, keyA), true},
		{"a renewed certificate", cert(certA, keyA), cert(certB, keyB), false},
		{"the same ServiceAccount with other tokens", WorkloadIdentity("system:serviceaccount:a:d365", mint), WorkloadIdentity("system:serviceaccount:a:d365", nil), true},
		{"another namespace's ServiceAccount", WorkloadIdentity("system:serviceaccount:a:d365", mint), WorkloadIdentity("system:serviceaccount:b:d365", mint), false},
		{"another password", UsernamePassword("u", "p1", ""), UsernamePassword("u", "p2", ""), false},
		{"another user", UsernamePassword("u1", "p", ""), UsernamePassword("u2", "p", ""), false},
		{"a client secret added", UsernamePassword("u", "p", ""), UsernamePassword("u", "p", "s"), false},
		{"a rotated refresh token", cache("oid.tid", "rt1"), cache("oid.tid", "rt2"), true},
		{"another user's sign-in", cache("oid.tid", "rt1"), cache("other.tid", "rt1"), false},
		{"the same user's sign-in in another Secret", cache("oid.tid", "rt1"), cacheAt("team-b/signin", "oid.tid", "rt1"), false},
		{"a password and a secret of the same value", UsernamePassword("", "x", ""), ClientSecret("x"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if same := key(tc.a) == key(tc.b); same != tc.wantSame {
				t.Errorf("same key = %v, want %v", same, tc.wantSame)
			}
		})
	}
}

// testCache is a minimal MSAL cache document with one account and its refresh token.
func testCache(home, rt string) []byte {
	return fmt.Appendf(nil, `{"AccessToken":{"x":{"secret":"eyJ.at"}},"Account":{"%[1]s-login.microsoftonline.com-t":{"home_account_id":"%[1]s","environment":"login.microsoftonline.com","username":"alice@contoso"}},`+
		`"RefreshToken":{"%[1]s-login.microsoftonline.com-refreshtoken-c--":{"home_account_id":"%[1]s","environment":"login.microsoftonline.com","client_id":"c","secret":"%[2]s"}},"AppMetadata":{}}`, home, rt)
}

func TestDelegatedCachesAreCheckedAndNeverPrinted(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"not JSON", "{", "invalid JSON"},
		{"no account", `{"Account":{}}`, "no signed-in account"},
		{"two accounts", `{"Account":{"a":{"home_account_id":"a"},"b":{"home_account_id":"b"}}}`, "2 accounts"},
	} {
		_, err := Delegated(DelegatedOptions{Cache: []byte(tc.doc)})
		var e *Error
		if !errors.As(err, &e) || e.Kind != InvalidCredential || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: got %v, want InvalidCredential mentioning %q", tc.name, err, tc.want)
		}
	}
	cred, err := Delegated(DelegatedOptions{Cache: testCache("oid.tid", "1.AS-refresh-token")})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v", cred, cred, cred); strings.Contains(s, "1.AS-refresh-token") || strings.Contains(s, "eyJ") {
		t.Errorf("prints as %q", s)
	}
	if d := cred.(*delegated); strings.Contains(string(d.doc), "eyJ.at") {
		t.Error("the access token was kept in the cache document")
	}
	if got := redact("refresh 1.AS-refresh-token failed", cred); strings.Contains(got, "1.AS-refresh-token") {
		t.Errorf("redact kept the refresh token: %q", got)
	}
}

// roundTripFunc records what the password-grant transport sends.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPasswordGrantSecretIsAddedToThePasswordGrantOnly(t *testing.T) {
	var sent url.Values
	rt := &passwordGrantSecret{secret: "s3cr3t", base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		body, _ := io.ReadAll(r.Body)
		sent, _ = url.ParseQuery(string(body))
		if r.ContentLength != int64(len(body)) {
			t.Errorf("Content-Length %d for a %d-byte body", r.ContentLength, len(body))
		}
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})}
	post := func(form url.Values) url.Values {
		req, _ := http.NewRequest(http.MethodPost, "https://login.microsoftonline.com/t/oauth2/v2.0/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return sent
	}
	if got := post(url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}, "client_id": {"c"}}); got.Get("client_secret") != "s3cr3t" || got.Get("password") != "p" {
		t.Errorf("password grant sent %v keys, want client_secret added", len(got))
	}
	if got := post(url.Values{"grant_type": {"refresh_token"}, "client_id": {"c"}}); got.Has("client_secret") {
		t.Error("client_secret added to another grant")
	}
	if got := post(url.Values{"grant_type": {"password"}, "client_assertion": {"x"}}); got.Has("client_secret") {
		t.Error("client_secret added next to a client assertion")
	}
}
