package controller

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/login"
	"github.com/d365-operator/d365-operator/internal/simulator"
	"github.com/d365-operator/d365-operator/internal/transport"
)

// Every sample in config/samples signs in against the simulator's demo world (what the demo
// runs), given the Secrets, ServiceAccount, certificate or sign-in its comments describe.
func TestSamplesSignInAgainstTheDemoWorld(t *testing.T) {
	a := newAuthHarnessWith(t, simulator.DefaultConfig())
	a.addSecret(simulator.DemoUserPassword)
	a.addSecret(simulator.DemoClientSecret)
	setup := map[string]func(conn *v1alpha1.D365Connection){
		"clientsecret": func(c *v1alpha1.D365Connection) {
			cs := c.Spec.Auth.ClientSecret
			a.secretOf(cs.ClientSecretRef.Name, map[string]string{cs.ClientIDRef.Key: simulator.DemoClientID, cs.ClientSecretRef.Key: simulator.DemoClientSecret})
		},
		"clientcertificate": func(c *v1alpha1.D365Connection) {
			cert := newRSACert(t, "demo")
			a.sim.SetAppCertificates(simulator.DemoTenantID, c.Spec.Auth.ClientCertificate.ClientID, cert.cert)
			a.tlsSecret(c.Spec.Auth.ClientCertificate.CertificateRef.Name, cert)
		},
		"workloadidentity": func(c *v1alpha1.D365Connection) {
			wi := c.Spec.Auth.WorkloadIdentity
			a.create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: a.ns, Name: wi.ServiceAccountName,
				Annotations: map[string]string{AnnotationWorkloadClientID: wi.ClientID}}})
			issuer, jwks := clusterIssuer(t)
			a.sim.SetFederatedCredentials(simulator.DemoTenantID, wi.ClientID, simulator.FederatedCredential{
				Issuer: issuer, Subject: "system:serviceaccount:" + a.ns + ":" + wi.ServiceAccountName, JWKS: jwks})
		},
		"usernamepassword": func(c *v1alpha1.D365Connection) {
			up := c.Spec.Auth.UsernamePassword
			a.secretOf(up.UsernameRef.Name, map[string]string{up.UsernameRef.Key: simulator.DemoUserUPN, up.PasswordRef.Key: simulator.DemoUserPassword})
		},
		"delegated": func(c *v1alpha1.D365Connection) {
			d := c.Spec.Auth.Delegated
			out := &deviceApprover{a: a, upn: simulator.DemoUserUPN}
			o := login.Options{EnvironmentURL: c.Spec.EnvironmentURL, ClientID: d.ClientID, Namespace: a.ns, SecretName: d.TokenCacheRef.Name, DeviceCode: true}
			if err := login.Run(a.ctx, o, login.Deps{Kube: env.Client, HTTPClient: transport.NewHTTPClient(a.httpOpts), Out: out}); err != nil || out.err != nil {
				t.Fatalf("login: %v %v", err, out.err)
			}
			a.recordCache(d.TokenCacheRef.Name)
		},
	}
	for kind, prepare := range setup {
		file := filepath.Join(env.RepoRoot, "config", "samples", "d365_v1alpha1_d365connection_"+kind+".yaml")
		raw, err := os.ReadFile(file) //nolint:gosec // the repository's own samples
		if err != nil {
			t.Fatal(err)
		}
		conn := &v1alpha1.D365Connection{}
		if err := yaml.UnmarshalStrict(raw, conn); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		conn.Namespace = a.ns
		prepare(conn)
		a.create(conn)
		a.reconcile(conn.Name)
		a.expectReady(conn.Name)
		if c := a.condition(conn.Name, v1alpha1.ConditionHealthy); c.Status != metav1.ConditionTrue {
			t.Errorf("%s: Healthy = %s (%s: %s)", kind, c.Status, c.Reason, c.Message)
		}
	}
}
