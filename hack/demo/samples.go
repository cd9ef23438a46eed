package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/simulator"
)

// samplesDir holds one D365Connection per auth kind.
const samplesDir = "config/samples"

// demoSample is a sample the operator can acquire a token for today, and how to make the
// credential Secrets it references from the simulator's demo world (registering with the
// running simulator whatever else the sample needs, such as an app's certificate).
type demoSample struct {
	file string
	// what the Secrets hold, for the progress line.
	what    string
	secrets func(conn *v1alpha1.D365Connection, sim *simulator.Server) ([]*corev1.Secret, error)
}

// demoSamples lists the samples the demo can sign in without a person or a workload
// identity issuer: the others (delegated needs an interactive sign-in, workloadIdentity a
// service account token the simulator trusts) are left out. Add a row when one can be.
// The first row is the connection the report and the hints describe.
var demoSamples = []demoSample{
	{file: "d365_v1alpha1_d365connection_clientsecret.yaml", what: "the simulator's demo app credentials",
		secrets: clientSecretCredentials},
	{file: "d365_v1alpha1_d365connection_clientcertificate.yaml",
		what:    "a key pair made by the demo, its certificate registered on the simulator's demo app",
		secrets: clientCertificateCredentials},
	{file: "d365_v1alpha1_d365connection_usernamepassword.yaml", what: "the simulator's demo user",
		secrets: usernamePasswordCredentials},
}

// clientSecretCredentials fills the Secrets the sample's clientSecret member names with the
// simulator's demo app. The names and keys come from the sample itself, so editing the
// sample cannot silently break the demo.
func clientSecretCredentials(conn *v1alpha1.D365Connection, _ *simulator.Server) ([]*corev1.Secret, error) {
	cs := conn.Spec.Auth.ClientSecret
	if cs == nil {
		return nil, fmt.Errorf("%s has no spec.auth.clientSecret", conn.Name)
	}
	values := secretValues{}
	if cs.ClientIDRef != nil {
		values.set(*cs.ClientIDRef, simulator.DemoClientID)
	}
	values.set(cs.ClientSecretRef, simulator.DemoClientSecret)
	return values.secrets(conn.Namespace), nil
}

// clientCertificateCredentials makes an RSA key and a self-signed certificate, registers the
// certificate on the app the sample names (in the demo tenant) and returns the
// kubernetes.io/tls Secret the sample references.
func clientCertificateCredentials(conn *v1alpha1.D365Connection, sim *simulator.Server) ([]*corev1.Secret, error) {
	cc := conn.Spec.Auth.ClientCertificate
	if cc == nil {
		return nil, fmt.Errorf("%s has no spec.auth.clientCertificate", conn.Name)
	}
	cert, certPEM, keyPEM, err := selfSignedRSA("d365-operator demo")
	if err != nil {
		return nil, err
	}
	sim.SetAppCertificates(simulator.DemoTenantID, cc.ClientID, cert)
	return []*corev1.Secret{{
		ObjectMeta: metav1.ObjectMeta{Name: cc.CertificateRef.Name, Namespace: conn.Namespace},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
	}}, nil
}

// selfSignedRSA makes a 2048-bit RSA key (MSAL signs assertions with RSA only) and a
// certificate for it valid for a year, PEM encoded as a kubernetes.io/tls Secret holds them.
func selfSignedRSA(cn string) (*x509.Certificate, []byte, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generating the demo's RSA key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generating a certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("making the demo's certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parsing the demo's certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encoding the demo's key: %w", err)
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// usernamePasswordCredentials fills the Secrets the sample's usernamePassword member names
// with the simulator's demo user. The sample's app must be one that allows public client
// flows (the simulator's DemoPublicClientID), or the sample must set clientSecretRef.
func usernamePasswordCredentials(conn *v1alpha1.D365Connection, _ *simulator.Server) ([]*corev1.Secret, error) {
	up := conn.Spec.Auth.UsernamePassword
	if up == nil {
		return nil, fmt.Errorf("%s has no spec.auth.usernamePassword", conn.Name)
	}
	values := secretValues{}
	if up.ClientIDRef != nil {
		values.set(*up.ClientIDRef, simulator.DemoPublicClientID)
	}
	if up.ClientSecretRef != nil {
		values.set(*up.ClientSecretRef, simulator.DemoClientSecret)
	}
	values.set(up.UsernameRef, simulator.DemoUserUPN)
	values.set(up.PasswordRef, simulator.DemoUserPassword)
	return values.secrets(conn.Namespace), nil
}

// secretValues collects key/value pairs per Secret name.
type secretValues map[string]map[string]string

func (v secretValues) set(ref v1alpha1.SecretKeyRef, value string) {
	if v[ref.Name] == nil {
		v[ref.Name] = map[string]string{}
	}
	v[ref.Name][ref.Key] = value
}

func (v secretValues) secrets(namespace string) []*corev1.Secret {
	out := make([]*corev1.Secret, 0, len(v))
	for name, data := range v {
		out = append(out, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Type:       corev1.SecretTypeOpaque,
			StringData: data,
		})
	}
	return out
}

// applySamples creates the namespace, then for each demo sample its credential Secrets and
// the connection itself, and returns the connections.
func applySamples(ctx context.Context, c client.Client, sim *simulator.Server, root, namespace string,
	say func(string, ...any)) ([]*v1alpha1.D365Connection, error) {
	if err := createNamespace(ctx, c, namespace); err != nil {
		return nil, err
	}
	var conns []*v1alpha1.D365Connection
	for _, s := range demoSamples {
		path := samplesDir + "/" + s.file
		conn, err := readSample(os.DirFS(root), path)
		if err != nil {
			return nil, err
		}
		conn.Namespace = namespace
		secrets, err := s.secrets(conn, sim)
		if err != nil {
			return nil, err
		}
		for _, sec := range secrets {
			say("Creating Secret %s/%s (%s)", sec.Namespace, sec.Name, s.what)
			if err := c.Create(ctx, sec); err != nil {
				return nil, fmt.Errorf("creating Secret %s/%s: %w", sec.Namespace, sec.Name, err)
			}
		}
		say("Applying %s as %s/%s", path, namespace, conn.Name)
		if err := c.Create(ctx, conn); err != nil {
			return nil, fmt.Errorf("creating %s from %s: %w", conn.Name, path, err)
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

// readSample decodes one connection sample strictly: a field the API does not know is a
// broken sample.
func readSample(repo fs.FS, path string) (*v1alpha1.D365Connection, error) {
	var conn v1alpha1.D365Connection
	if err := readStrict(repo, path, &conn, "D365Connection"); err != nil {
		return nil, err
	}
	return &conn, nil
}
