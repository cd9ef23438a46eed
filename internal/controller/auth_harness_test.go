package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/entra"
	"github.com/d365-operator/d365-operator/internal/simulator"
	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// The world of the sign-in method tests, beyond the harness's tenant, app and environment.
const (
	certClientID   = "22222222-2222-4333-8444-555555555555" // signs with certificates set per test
	wiClientID     = "33333333-2222-4333-8444-555555555555" // federated credentials set per test
	publicClientID = "44444444-2222-4333-8444-555555555555" // allows public client flows
	aliceUPN       = "alice@contoso.onmicrosoft.com"
	aliceOID       = "a11ce000-0000-4000-8000-000000000001"
	aliceUserID    = "a11ce000-0000-4000-8000-0000000000d5"
	bobUPN         = "bob@contoso.onmicrosoft.com" // MFA required
	bobOID         = "b0b00000-0000-4000-8000-000000000001"
	// alicePassword is a user's password: tests assert it never leaks.
	alicePassword = "Alice~Passw0rd.That-Must_Never.Leak"

	govTenantID   = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
	govClientID   = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a"
	govEnvHost    = "contoso.crm.microsoftdynamics.us" // GCC High
	dodTenantID   = "d0d0d0d0-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
	dodClientID   = "d0d0d0d0-b8c9-4d0e-9f1a-2b3c4d5e6f7a"
	dodEnvHost    = "contoso.crm.appsplatform.us" // DoD
	gccTenantID   = "9cc00000-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
	gccClientID   = "9cc00000-b8c9-4d0e-9f1a-2b3c4d5e6f7a"
	gccEnvHost    = "contoso.crm9.dynamics.com" // GCC: a commercial login host
	cnTenantID    = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
	cnClientID    = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"
	cnEnvHost     = "contoso.crm.dynamics.cn"
	adminHost     = "admin.services.crm.dynamics.com"
	usGovAltLogin = "login.usgovcloudapi.net" // an alias of login.microsoftonline.us
)

// authHarness is a harness on the sign-in methods' world, with the fake clock at the real
// time: MSAL stamps certificate assertions, and the API server ServiceAccount tokens, with
// the real clock, and the simulator checks them against the fake one.
type authHarness struct {
	*harness
	// httpOpts reach the simulator (for the login command).
	httpOpts transport.Options

	mu      sync.Mutex
	secrets []string // values that must not appear in logs, events or status
}

func newAuthHarness(t *testing.T) *authHarness {
	t.Helper()
	return newAuthHarnessWith(t, authWorld())
}

// authWorld is the simulated world of the sign-in method tests.
func authWorld() simulator.Config {
	app := func(id string) simulator.App {
		return simulator.App{ClientID: id, Secrets: []simulator.Secret{{Value: clientSecret}}}
	}
	appUser := func(id string) []simulator.ApplicationUser { return []simulator.ApplicationUser{{ClientID: id}} }
	return simulator.Config{
		TokenLifetime: tokenLife,
		Tenants: []simulator.Tenant{
			{ID: tenantID, Domain: "contoso.onmicrosoft.com", Apps: []simulator.App{
				{ClientID: clientID, ObjectID: appObjectID, Secrets: []simulator.Secret{{Value: clientSecret}}},
				{ClientID: certClientID}, {ClientID: wiClientID},
				{ClientID: publicClientID, AllowPublicClient: true},
			}, Users: []simulator.User{
				{ObjectID: aliceOID, UserPrincipalName: aliceUPN, Password: alicePassword},
				{ObjectID: bobOID, UserPrincipalName: bobUPN, Password: alicePassword, MFARequired: true},
			}},
			{ID: govTenantID, AuthorityHost: "login.microsoftonline.us", Apps: []simulator.App{app(govClientID)}},
			{ID: dodTenantID, AuthorityHost: "login.microsoftonline.us", Apps: []simulator.App{app(dodClientID)}},
			{ID: gccTenantID, AuthorityHost: "login.microsoftonline.com", Apps: []simulator.App{app(gccClientID)}},
			{ID: cnTenantID, AuthorityHost: "login.partner.microsoftonline.cn", Apps: []simulator.App{app(cnClientID)}},
		},
		Environments: []simulator.Environment{
			{Host: envHost, TenantID: tenantID, OrganizationID: orgID, BusinessUnitID: buID,
				ApplicationUsers: []simulator.ApplicationUser{{ClientID: clientID, UserID: appUserID}, {ClientID: certClientID}, {ClientID: wiClientID}},
				Users:            []simulator.EnvironmentUser{{ObjectID: aliceOID, UserID: aliceUserID}, {ObjectID: bobOID}}},
			{Host: adminHost, TenantID: tenantID, AdminService: true},
			{Host: govEnvHost, TenantID: govTenantID, ApplicationUsers: appUser(govClientID)},
			{Host: dodEnvHost, TenantID: dodTenantID, ApplicationUsers: appUser(dodClientID)},
			{Host: gccEnvHost, TenantID: gccTenantID, ApplicationUsers: appUser(gccClientID)},
			{Host: cnEnvHost, TenantID: cnTenantID, ApplicationUsers: appUser(cnClientID)},
		},
		ExtraHosts: []string{usGovAltLogin},
	}
}

// newAuthHarnessWith starts the simulator on cfg with the harness's fake clock.
func newAuthHarnessWith(t *testing.T, cfg simulator.Config) *authHarness {
	t.Helper()
	fc := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	cfg.Clock = fc
	sim, err := simulator.Start(cfg)
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(sim.Close)

	opts := transport.Options{RootCAs: sim.CertPool(), HostAliases: sim.HostAliases(), Timeout: 10 * time.Second}
	httpClient := transport.NewHTTPClient(opts)
	policy := trust.NewPolicy(nil, nil)
	h := &harness{t: t, clock: fc, sim: sim, logs: &syncBuffer{}, events: &eventLog{}}
	h.newTokens = func() *entra.Provider {
		return entra.NewProvider(entra.ProviderOptions{HTTPClient: httpClient, Clock: fc, Trust: policy})
	}
	h.r = New(Dependencies{
		Client: env.Client, APIReader: env.Client, SecretMetadata: env.Client, Scheme: env.Scheme,
		Clock: fc, Recorder: h.events, Tokens: h.newTokens(), Environments: dataverse.NewClient(httpClient), Trust: policy,
	})
	logger := funcr.New(func(prefix, args string) { h.logs.WriteString(prefix + " " + args + "\n") }, funcr.Options{Verbosity: 5})
	h.ctx = log.IntoContext(context.Background(), logger)
	h.ns = fmt.Sprintf("a-%d", time.Now().UnixNano())
	h.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.ns}})

	a := &authHarness{harness: h, httpOpts: opts}
	a.addSecret(alicePassword)
	t.Cleanup(h.assertNoLeaks)
	t.Cleanup(a.assertNoCredentials)
	return a
}

// addSecret records a value that must never appear in logs, events or status.
func (a *authHarness) addSecret(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secrets = append(a.secrets, s)
}

// assertNoCredentials: no password, refresh token, token cache, private key or JWT of any
// kind (access token, ServiceAccount token, client assertion) in logs, events or status.
func (a *authHarness) assertNoCredentials() {
	a.t.Helper()
	all := a.observable()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.secrets {
		if s != "" && strings.Contains(all, s) {
			a.t.Errorf("a secret recorded by the test (%d characters) appears in logs, events or status", len(s))
		}
	}
	// eyJ is the start of every base64url JSON object: any JWT. The others mark a token
	// cache's content or a PEM key.
	for _, marker := range []string{"eyJ", `"RefreshToken"`, `"secret":`, "PRIVATE KEY"} {
		if strings.Contains(all, marker) {
			a.t.Errorf("%q appears in logs, events or status", marker)
		}
	}
}

// connectionWith creates a connection to environmentURL signing in with auth.
func (a *authHarness) connectionWith(name, environmentURL string, auth v1alpha1.AuthSpec, mutate ...func(*v1alpha1.D365Connection)) {
	a.connection(name, append([]func(*v1alpha1.D365Connection){func(c *v1alpha1.D365Connection) {
		c.Spec.EnvironmentURL = environmentURL
		c.Spec.Auth = auth
	}}, mutate...)...)
}

// secretOf creates a Secret with string data.
func (a *authHarness) secretOf(name string, data map[string]string) {
	a.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: a.ns, Name: name}, StringData: data})
}

// requests counts token-endpoint POSTs of a client with a grant ("" any).
func (a *authHarness) requests(client, grant string) int {
	return a.sim.CountRequests(func(r simulator.Request) bool {
		return r.Method == "POST" && strings.HasSuffix(r.Path, "/token") && strings.EqualFold(r.ClientID, client) && (grant == "" || r.Grant == grant)
	})
}

// expectReady fails unless the connection is Ready and returns its output token's claims.
func (a *authHarness) expectReady(name string) *simulator.TokenClaims {
	a.t.Helper()
	conn := a.get(name)
	if c := findCondition(conn, v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		a.t.Fatalf("%s: Ready = %s (%s: %s), want True", name, c.Status, c.Reason, c.Message)
	}
	s := a.secret(targetName(conn))
	if s == nil {
		a.t.Fatalf("%s: no output Secret", name)
	}
	claims, err := a.sim.VerifyToken(string(s.Data[v1alpha1.SecretKeyAccessToken]))
	if err != nil {
		a.t.Fatalf("%s: the output token does not verify: %v", name, err)
	}
	return claims
}

// expectFailure fails unless Ready is False with reason and the message mentions each of
// mentions; it logs the message (none holds a secret).
func (a *authHarness) expectFailure(name, reason string, mentions ...string) {
	a.t.Helper()
	c := a.condition(name, v1alpha1.ConditionReady)
	if c.Status != metav1.ConditionFalse || c.Reason != reason {
		a.t.Fatalf("%s: Ready = %s (%s: %s), want False with %s", name, c.Status, c.Reason, c.Message, reason)
	}
	a.t.Logf("%s: %s: %s", name, c.Reason, c.Message)
	for _, m := range mentions {
		if !strings.Contains(c.Message, m) {
			a.t.Errorf("%s: message %q does not mention %q", name, c.Message, m)
		}
	}
}

// forceRefresh sets the requested-at annotation to value: an immediate refresh.
func forceRefresh(h *harness, name, value string) {
	h.t.Helper()
	conn := h.get(name)
	if conn.Annotations == nil {
		conn.Annotations = map[string]string{}
	}
	conn.Annotations[v1alpha1.AnnotationRequestedAt] = value
	if err := env.Client.Update(h.ctx, conn); err != nil {
		h.t.Fatal(err)
	}
}
