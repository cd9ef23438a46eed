package controller

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// testCert is a self-signed certificate and its key, PEM encoded as a kubernetes.io/tls
// Secret holds them.
type testCert struct {
	cert            *x509.Certificate
	certPEM, keyPEM []byte
}

func newTestCert(t *testing.T, cn string, key crypto.Signer) testCert {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

func newRSACert(t *testing.T, cn string) testCert {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return newTestCert(t, cn, key)
}

// tlsSecret creates or replaces the kubernetes.io/tls Secret name with c.
func (a *authHarness) tlsSecret(name string, c testCert) {
	a.t.Helper()
	a.addSecret(string(c.keyPEM))
	s := a.secret(name)
	if s == nil {
		a.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: a.ns, Name: name}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: c.certPEM, corev1.TLSPrivateKeyKey: c.keyPEM}})
		return
	}
	s.Data = map[string][]byte{corev1.TLSCertKey: c.certPEM, corev1.TLSPrivateKeyKey: c.keyPEM}
	if err := env.Client.Update(a.ctx, s); err != nil {
		a.t.Fatal(err)
	}
}

func certificateAuth(secretName string) v1alpha1.AuthSpec {
	return v1alpha1.AuthSpec{ClientCertificate: &v1alpha1.ClientCertificateAuth{
		ClientID: certClientID, CertificateRef: v1alpha1.SecretRef{Name: secretName}}}
}

func TestClientCertificateSignsInAndARenewedCertificateIsUsedAtOnce(t *testing.T) {
	a := newAuthHarness(t)
	first := newRSACert(t, "d365-operator first")
	a.sim.SetAppCertificates(tenantID, certClientID, first.cert)
	a.tlsSecret("app-cert", first)
	a.connectionWith("sales", envURL, certificateAuth("app-cert"))

	a.reconcile("sales")
	if claims := a.expectReady("sales"); claims.AppID != certClientID || claims.AppIDACR != "2" {
		t.Errorf("token of app %s with appidacr %s, want %s signed in with a certificate (2)", claims.AppID, claims.AppIDACR, certClientID)
	}
	if n := a.requests(certClientID, "client_credentials"); n != 1 {
		t.Fatalf("%d token requests, want 1", n)
	}
	firstToken := string(a.secret("sales-token").Data[v1alpha1.SecretKeyAccessToken])

	// cert-manager renews the certificate: the next reconcile (the Secret watch's) uses the
	// new one at once, long before the current token is due for refresh.
	renewed := newRSACert(t, "d365-operator renewed")
	a.sim.SetAppCertificates(tenantID, certClientID, renewed.cert)
	a.tlsSecret("app-cert", renewed)
	a.reconcile("sales")
	a.expectReady("sales")
	if n := a.requests(certClientID, "client_credentials"); n != 2 {
		t.Fatalf("%d token requests after the renewal, want 2", n)
	}
	if got := string(a.secret("sales-token").Data[v1alpha1.SecretKeyAccessToken]); got == firstToken {
		t.Error("the output Secret still holds the token of the old certificate")
	}

	// A certificate the app registration does not know: a reason and a message that say so.
	unknown := newRSACert(t, "d365-operator unknown")
	a.tlsSecret("app-cert", unknown)
	a.reconcile("sales")
	a.expectFailure("sales", v1alpha1.ReasonCertificateRejected, "AADSTS700027", "tls.crt", certClientID, "Certificates & secrets")
	if !conditionTrue(a.get("sales"), v1alpha1.ConditionStalled) {
		t.Error("a rejected certificate is not Stalled")
	}
}

func TestUnusableCertificateSecretsHaveClearReasons(t *testing.T) {
	a := newAuthHarness(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec := newTestCert(t, "ecdsa", ecKey)
	rsaCert := newRSACert(t, "rsa")
	other := newRSACert(t, "other")
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("not really encrypted, but labelled so")})
	cases := []struct {
		name     string
		data     map[string][]byte
		reason   string
		mentions string
	}{
		{"an ECDSA key", map[string][]byte{"tls.crt": ec.certPEM, "tls.key": ec.keyPEM}, v1alpha1.ReasonInvalidCredential, "RSA"},
		{"an encrypted key", map[string][]byte{"tls.crt": rsaCert.certPEM, "tls.key": encrypted}, v1alpha1.ReasonInvalidCredential, "encrypted"},
		{"a key of another certificate", map[string][]byte{"tls.crt": rsaCert.certPEM, "tls.key": other.keyPEM}, v1alpha1.ReasonInvalidCredential, "belong together"},
		{"no tls.key", map[string][]byte{"tls.crt": rsaCert.certPEM, "ca.crt": rsaCert.certPEM}, v1alpha1.ReasonSecretKeyNotFound, `"tls.key"`},
		{"not a certificate at all", map[string][]byte{"tls.crt": []byte("hello"), "tls.key": rsaCert.keyPEM}, v1alpha1.ReasonInvalidCredential, "no PEM certificate"},
	}
	a.addSecret(string(rsaCert.keyPEM))
	a.addSecret(string(other.keyPEM))
	a.addSecret(string(ec.keyPEM))
	for i, tc := range cases {
		name := "cert-" + string(rune('a'+i))
		a.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: a.ns, Name: name}, Data: tc.data})
		a.connectionWith(name, envURL, certificateAuth(name))
		a.reconcile(name)
		t.Logf("%s: %s", name, tc.name)
		a.expectFailure(name, tc.reason, tc.mentions, name)
	}
	if n := a.requests(certClientID, ""); n != 0 {
		t.Errorf("%d token requests with unusable certificates, want none", n)
	}
}
