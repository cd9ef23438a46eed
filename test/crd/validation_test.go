package crd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	d365v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

const (
	environmentURL = "https://contoso.crm.dynamics.com"
	clientID       = "11111111-2222-3333-4444-555555555555"
)

// Each rule's message as the CRD states it; a refused spec's error must contain it.
const (
	msgHTTPS          = "environmentURL must start with https://"
	msgQuery          = "environmentURL must not have a query (?) or fragment (#)"
	msgPath           = "environmentURL must be the environment root with no path"
	msgOneAuth        = "auth must set exactly one of clientSecret, clientCertificate, workloadIdentity, usernamePassword"
	msgAuthOrIdentity = "set exactly one of auth (a credential in this namespace) and identityRef (a ClusterD365Identity)"
	msgOneClientID    = "set exactly one of clientID and clientIDRef"
	msgGUID           = "clientID must be the application (client) ID, a GUID"
	msgRefresh        = "refreshBefore must be between 5m and 24h"
	msgInterval       = "healthCheck.interval must be between 30s and 24h"
	msgTargetName     = "target.name must be a valid Secret name"
	msgSecretName     = "a Secret name must be lower-case letters, digits, '-' and '.'"
	msgSecretKey      = "a Secret key must consist of letters, digits, '-', '_' and '.'"
	msgTenant         = "tenantID must be a tenant GUID or a verified domain"
	msgAuthorityHost  = "authorityHost must be an https URL with no path"
	msgServiceAcct    = "serviceAccountName must be a valid ServiceAccount name"
)

func keyRef(name, key string) d365v1alpha1.SecretKeyRef {
	return d365v1alpha1.SecretKeyRef{Name: name, Key: key}
}

// Valid auth members, one per kind.
func clientSecretAuth() *d365v1alpha1.ClientSecretAuth {
	return &d365v1alpha1.ClientSecretAuth{ClientID: clientID, ClientSecretRef: keyRef("d365-app", "client-secret")}
}

func clientCertificateAuth() *d365v1alpha1.ClientCertificateAuth {
	return &d365v1alpha1.ClientCertificateAuth{
		ClientID:       clientID,
		CertificateRef: d365v1alpha1.SecretRef{Name: "d365-app-cert"},
	}
}

func workloadIdentityAuth() *d365v1alpha1.WorkloadIdentityAuth {
	return &d365v1alpha1.WorkloadIdentityAuth{ClientID: clientID, ServiceAccountName: "d365-sync"}
}

func usernamePasswordAuth() *d365v1alpha1.UsernamePasswordAuth {
	return &d365v1alpha1.UsernamePasswordAuth{
		ClientID:    clientID,
		UsernameRef: keyRef("d365-user", "username"),
		PasswordRef: keyRef("d365-user", "password"),
	}
}

func delegatedAuth() *d365v1alpha1.DelegatedAuth {
	return &d365v1alpha1.DelegatedAuth{ClientID: clientID, TokenCacheRef: d365v1alpha1.SecretRef{Name: "d365-token-cache"}}
}

// validSpec is a minimal valid spec: client credentials with a secret.
func validSpec() d365v1alpha1.D365ConnectionSpec {
	return d365v1alpha1.D365ConnectionSpec{
		EnvironmentURL: environmentURL,
		Auth:           d365v1alpha1.AuthSpec{ClientSecret: clientSecretAuth()},
	}
}

func duration(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// create submits a connection with the given spec to the API server.
func create(t *testing.T, ns string, spec d365v1alpha1.D365ConnectionSpec) error {
	t.Helper()
	c := &d365v1alpha1.D365Connection{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "conn-", Namespace: ns},
		Spec:       spec,
	}
	return env.Client.Create(context.Background(), c)
}

func TestValidSpecsAreAccepted(t *testing.T) {
	ns := newNamespace(t, "valid")
	tests := map[string]func(*d365v1alpha1.D365ConnectionSpec){
		"client secret with a literal client id": func(*d365v1alpha1.D365ConnectionSpec) {},
		"client secret with the client id from a Secret": func(s *d365v1alpha1.D365ConnectionSpec) {
			s.Auth.ClientSecret.ClientID = ""
			ref := keyRef("d365-app", "client-id")
			s.Auth.ClientSecret.ClientIDRef = &ref
		},
		"client certificate": func(s *d365v1alpha1.D365ConnectionSpec) {
			s.Auth = d365v1alpha1.AuthSpec{ClientCertificate: clientCertificateAuth()}
		},
		"workload identity": func(s *d365v1alpha1.D365ConnectionSpec) {
			s.Auth = d365v1alpha1.AuthSpec{WorkloadIdentity: workloadIdentityAuth()}
		},
		"username and password with an optional client secret": func(s *d365v1alpha1.D365ConnectionSpec) {
			a := usernamePasswordAuth()
			ref := keyRef("d365-app", "client-secret")
			a.ClientSecretRef = &ref
			s.Auth = d365v1alpha1.AuthSpec{UsernamePassword: a}
		},
		"delegated": func(s *d365v1alpha1.D365ConnectionSpec) {
			s.Auth = d365v1alpha1.AuthSpec{Delegated: delegatedAuth()}
		},
		"environment URL with a trailing slash": func(s *d365v1alpha1.D365ConnectionSpec) {
			s.EnvironmentURL = environmentURL + "/"
		},
		"every optional field set to its bound": func(s *d365v1alpha1.D365ConnectionSpec) {
			s.TenantID = "7e1c0d6a-1b2c-4d5e-8f90-123456789abc"
			s.AuthorityHost = "https://login.microsoftonline.us"
			s.Target.Name = "sales.token-1"
			s.RefreshBefore = duration(5 * time.Minute)
			s.HealthCheck.Interval = duration(30 * time.Second)
			s.Suspend = true
		},
		"upper bounds of the durations and a tenant domain": func(s *d365v1alpha1.D365ConnectionSpec) {
			s.TenantID = "contoso.onmicrosoft.com"
			s.RefreshBefore = duration(24 * time.Hour)
			s.HealthCheck.Interval = duration(24 * time.Hour)
			s.HealthCheck.Disabled = true
		},
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			spec := validSpec()
			mutate(&spec)
			if err := create(t, ns, spec); err != nil {
				t.Fatalf("a valid spec was refused: %v", err)
			}
		})
	}
}

func TestInvalidSpecsAreRefusedWithTheRuleMessage(t *testing.T) {
	ns := newNamespace(t, "invalid")
	tests := map[string]struct {
		mutate  func(*d365v1alpha1.D365ConnectionSpec)
		message string
	}{
		"an http environment URL is refused: tokens only travel over TLS": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.EnvironmentURL = "http://contoso.crm.dynamics.com" },
			msgHTTPS,
		},
		"an environment URL with a query is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.EnvironmentURL = environmentURL + "/?tenant=x" },
			msgQuery,
		},
		"an environment URL with a fragment is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.EnvironmentURL = environmentURL + "#main" },
			msgQuery,
		},
		"an environment URL with a path is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.EnvironmentURL = environmentURL + "/api/data/v9.2" },
			msgPath,
		},
		// An empty auth is omitted (omitzero), so the connection has neither auth nor identityRef.
		"an auth with no member is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.Auth = d365v1alpha1.AuthSpec{} },
			msgAuthOrIdentity,
		},
		"an auth with two members is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.Auth.WorkloadIdentity = workloadIdentityAuth() },
			msgOneAuth,
		},
		"clientSecret with both clientID and clientIDRef is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) {
				ref := keyRef("d365-app", "client-id")
				s.Auth.ClientSecret.ClientIDRef = &ref
			},
			msgOneClientID,
		},
		"clientSecret with neither clientID nor clientIDRef is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.Auth.ClientSecret.ClientID = "" },
			msgOneClientID,
		},
		"clientCertificate with both clientID and clientIDRef is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) {
				a := clientCertificateAuth()
				ref := keyRef("d365-app", "client-id")
				a.ClientIDRef = &ref
				s.Auth = d365v1alpha1.AuthSpec{ClientCertificate: a}
			},
			msgOneClientID,
		},
		"workloadIdentity with neither clientID nor clientIDRef is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) {
				a := workloadIdentityAuth()
				a.ClientID = ""
				s.Auth = d365v1alpha1.AuthSpec{WorkloadIdentity: a}
			},
			msgOneClientID,
		},
		"usernamePassword with neither clientID nor clientIDRef is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) {
				a := usernamePasswordAuth()
				a.ClientID = ""
				s.Auth = d365v1alpha1.AuthSpec{UsernamePassword: a}
			},
			msgOneClientID,
		},
		"delegated with both clientID and clientIDRef is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) {
				a := delegatedAuth()
				ref := keyRef("d365-app", "client-id")
				a.ClientIDRef = &ref
				s.Auth = d365v1alpha1.AuthSpec{Delegated: a}
			},
			msgOneClientID,
		},
		"a literal clientID that is not a GUID is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.Auth.ClientSecret.ClientID = "my-app" },
			msgGUID,
		},
		"a delegated clientID that is not a GUID is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) {
				a := delegatedAuth()
				a.ClientID = "11111111-2222-3333-4444-55555555555z"
				s.Auth = d365v1alpha1.AuthSpec{Delegated: a}
			},
			msgGUID,
		},
		"refreshBefore of 1m is refused: kubelet needs time to project the Secret": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.RefreshBefore = duration(time.Minute) },
			msgRefresh,
		},
		"refreshBefore of 48h is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.RefreshBefore = duration(48 * time.Hour) },
			msgRefresh,
		},
		"a healthCheck interval of 10s is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.HealthCheck.Interval = duration(10 * time.Second) },
			msgInterval,
		},
		"a target name that is not a Secret name is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.Target.Name = "Bad_Name" },
			msgTargetName,
		},
		"a Secret reference with an invalid name is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.Auth.ClientSecret.ClientSecretRef.Name = "Bad_Name" },
			msgSecretName,
		},
		"a whole-Secret reference with an invalid name is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) {
				a := delegatedAuth()
				a.TokenCacheRef.Name = "-cache"
				s.Auth = d365v1alpha1.AuthSpec{Delegated: a}
			},
			msgSecretName,
		},
		"a Secret reference with an invalid key is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.Auth.ClientSecret.ClientSecretRef.Key = "a b" },
			msgSecretKey,
		},
		"a tenantID that is neither a GUID nor a domain is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.TenantID = "contoso tenant/x" },
			msgTenant,
		},
		"an http authorityHost is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.AuthorityHost = "http://login.microsoftonline.us" },
			msgAuthorityHost,
		},
		"an authorityHost with a tenant path is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) { s.AuthorityHost = "https://login.microsoftonline.us/contoso" },
			msgAuthorityHost,
		},
		"a workload identity with an invalid ServiceAccount name is refused": {
			func(s *d365v1alpha1.D365ConnectionSpec) {
				a := workloadIdentityAuth()
				a.ServiceAccountName = "Bad_SA"
				s.Auth = d365v1alpha1.AuthSpec{WorkloadIdentity: a}
			},
			msgServiceAcct,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := validSpec()
			tc.mutate(&spec)
			err := create(t, ns, spec)
			if err == nil {
				t.Fatalf("the API server accepted the spec; want it refused with %q", tc.message)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error with %q, got: %v", tc.message, err)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("want the error to contain %q, got: %v", tc.message, err)
			}
		})
	}
}
