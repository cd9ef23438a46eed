package entra_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/d365-operator/d365-operator/internal/entra"
	"github.com/d365-operator/d365-operator/internal/simulator"
	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// Names of the simulated world beyond simulator.DefaultConfig.
const (
	evilTenantID    = "e0e0e0e0-0000-4000-8000-000000000001"
	evilEnvironment = "evil.crm.dynamics.com" // a Dataverse-looking host whose challenge names login.evil.example
	evilLoginHost   = "login.evil.example"
	evilClientID    = "e0e0e0e0-0000-4000-8000-0000000000c1"
	evilSecret      = "evil~Secret.Value_that-must-never-leave"
	demoResource    = "https://" + simulator.DemoEnvironmentHost + "/"
)

var simStart = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// startSim runs the simulator's demo world plus a tenant on a foreign login host, on a
// fake clock shared with the provider, and returns a provider that reaches it through
// transport's host aliases (the production HTTP path).
func startSim(t *testing.T, extraAuthorityHosts ...string) (*simulator.Server, *entra.Provider, *clocktesting.FakeClock) {
	t.Helper()
	clk := clocktesting.NewFakeClock(simStart)
	cfg := simulator.DefaultConfig()
	cfg.Clock = clk
	cfg.ExtraHosts = []string{"login.microsoftonline.com.evil.example"}
	cfg.Tenants = append(cfg.Tenants, simulator.Tenant{
		ID: evilTenantID, DisplayName: "Evil", AuthorityHost: evilLoginHost,
		Apps: []simulator.App{{ClientID: evilClientID, Secrets: []simulator.Secret{{Value: evilSecret}}}},
	})
	cfg.Environments = append(cfg.Environments, simulator.Environment{
		Host: evilEnvironment, TenantID: evilTenantID,
		ApplicationUsers: []simulator.ApplicationUser{{ClientID: evilClientID}},
	})
	sim, err := simulator.Start(cfg)
	if err != nil {
		t.Fatalf("simulator.Start: %v", err)
	}
	t.Cleanup(sim.Close)
	hc := transport.NewHTTPClient(transport.Options{RootCAs: sim.CertPool(), HostAliases: sim.HostAliases(), Timeout: 10 * time.Second})
	p := entra.NewProvider(entra.ProviderOptions{HTTPClient: hc, Clock: clk, Trust: trust.NewPolicy(extraAuthorityHosts, nil)})
	return sim, p, clk
}

func demoIdentity() entra.Identity {
	return entra.Identity{
		Authority:  "https://login.microsoftonline.com/" + simulator.DemoTenantID + "/",
		ClientID:   simulator.DemoClientID,
		Credential: entra.ClientSecret(simulator.DemoClientSecret),
	}
}

func tokenPosts(sim *simulator.Server) int {
	return sim.CountRequests(func(r simulator.Request) bool {
		return r.Method == "POST" && strings.HasSuffix(r.Path, "/oauth2/v2.0/token")
	})
}

func TestSimulatorIssuesTokensInEveryCloud(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		id       entra.Identity
		resource string
	}{
		{"the commercial cloud", demoIdentity(), demoResource},
		{"GCC High on login.microsoftonline.us", entra.Identity{
			Authority: "https://login.microsoftonline.us/" + simulator.DemoGovTenantID + "/", ClientID: simulator.DemoGovClientID,
			Credential: entra.ClientSecret(simulator.DemoClientSecret)}, "https://" + simulator.DemoGovEnvironmentHost + "/"},
		{"China on login.partner.microsoftonline.cn", entra.Identity{
			Authority: "https://login.partner.microsoftonline.cn/" + simulator.DemoChinaTenantID + "/", ClientID: simulator.DemoChinaClientID,
			Credential: entra.ClientSecret(simulator.DemoClientSecret)}, "https://" + simulator.DemoChinaEnvironmentHost + "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, p, _ := startSim(t)
			tok, err := p.Acquire(context.Background(), tc.id, tc.resource, nil)
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			if !tok.IssuedAt.Equal(simStart) || tok.Lifetime() != simulator.DefaultTokenLifetime {
				t.Errorf("got %v (lifetime %v), want issued at %v for %v", tok, tok.Lifetime(), simStart, simulator.DefaultTokenLifetime)
			}
			claims, err := sim.VerifyToken(tok.AccessToken)
			if err != nil {
				t.Fatalf("the simulator does not recognise its token: %v", err)
			}
			if claims.Audience != strings.TrimSuffix(tc.resource, "/") || claims.AppID != tc.id.ClientID {
				t.Errorf("token for audience %s app %s", claims.Audience, claims.AppID)
			}
		})
	}
}

func TestSimulatorTokensComeFromTheProviderNotMSALsCache(t *testing.T) {
	t.Parallel()
	sim, p, clk := startSim(t)
	ctx := context.Background()
	first, err := p.Acquire(ctx, demoIdentity(), demoResource, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 40 minutes on, 35 remain: MSAL would serve its cached token; refusing it must not.
	clk.Step(40 * time.Minute)
	second, err := p.Acquire(ctx, demoIdentity(), demoResource, func(entra.Token) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessToken == first.AccessToken || !second.IssuedAt.Equal(simStart.Add(40*time.Minute)) {
		t.Errorf("got the same token or a wrong issue time (%v)", second)
	}
	if n := tokenPosts(sim); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

func TestSimulatorSeesOneRequestForManyConcurrentCallers(t *testing.T) {
	t.Parallel()
	sim, p, _ := startSim(t)
	sim.InjectFault(simulator.Fault{Host: "login.microsoftonline.com", PathPrefix: "/" + simulator.DemoTenantID + "/oauth2", Latency: 200 * time.Millisecond, Count: 1})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			_, err := p.Acquire(context.Background(), demoIdentity(), demoResource, func(entra.Token) bool { return true })
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := tokenPosts(sim); n != 1 {
		t.Errorf("%d token requests for 100 callers, want 1", n)
	}
}

func TestSimulatorRefusalsAreClassified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		setup      func(*simulator.Server, *clocktesting.FakeClock)
		change     func(*entra.Identity)
		resource   string
		wantKind   entra.Kind
		wantAADSTS int
		wantRetry  time.Duration
		wantText   string
	}{
		{"a wrong secret", nil, func(i *entra.Identity) { i.Credential = entra.ClientSecret("wrong~secret.value") }, demoResource,
			entra.InvalidClientSecret, 7000215, 0, "VALUE, not its secret ID"},
		{"an expired secret", func(s *simulator.Server, c *clocktesting.FakeClock) {
			s.SetAppSecrets(simulator.DemoTenantID, simulator.DemoClientID, simulator.Secret{Value: simulator.DemoClientSecret, ExpiresAt: c.Now().Add(-time.Hour)})
		}, nil, demoResource, entra.ClientSecretExpired, 7000222, 0, "Create a new client secret"},
		{"an app that is not in the tenant", nil, func(i *entra.Identity) { i.ClientID = "00000000-1111-4222-8333-444444444444" }, demoResource,
			entra.ApplicationNotFound, 700016, 0, "client ID 00000000-1111-4222-8333-444444444444"},
		{"a tenant that does not exist (OpenID configuration)", nil, func(i *entra.Identity) {
			i.Authority = "https://login.microsoftonline.com/00000000-0000-4000-8000-00000000dead/"
		}, demoResource, entra.TenantNotFound, 90002, 0, "OpenID configuration request"},
		{"an environment unknown to the tenant's cloud", nil, nil, "https://nowhere.crm.dynamics.com/",
			entra.ResourceNotFound, 500011, 0, "AADSTS500011"},
		{"an environment of another cloud", nil, nil, "https://" + simulator.DemoGovEnvironmentHost + "/",
			entra.ResourceNotFound, 500011, 0, "AADSTS500011"},
		{"throttling (plain-text 429)", func(s *simulator.Server, _ *clocktesting.FakeClock) {
			s.InjectFault(simulator.Fault{Host: "login.microsoftonline.com", PathPrefix: "/" + simulator.DemoTenantID + "/oauth2/v2.0/token", Status: 429, RetryAfter: "60"})
		}, nil, demoResource, entra.Throttled, 0, time.Minute, "retrying after 1m0s"},
		{"an outage (503 temporarily_unavailable)", func(s *simulator.Server, _ *clocktesting.FakeClock) {
			s.InjectFault(simulator.Fault{Host: "login.microsoftonline.com", PathPrefix: "/" + simulator.DemoTenantID + "/oauth2/v2.0/token", Status: 503})
		}, nil, demoResource, entra.Unavailable, 90033, 0, "unavailable"},
		{"a 503 with Retry-After is throttling", func(s *simulator.Server, _ *clocktesting.FakeClock) {
			s.InjectFault(simulator.Fault{Host: "login.microsoftonline.com", PathPrefix: "/" + simulator.DemoTenantID + "/oauth2/v2.0/token", Status: 503, RetryAfter: "5"})
		}, nil, demoResource, entra.Throttled, 90033, 5 * time.Second, "retrying after 5s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, p, clk := startSim(t)
			if tc.setup != nil {
				tc.setup(sim, clk)
			}
			id := demoIdentity()
			if tc.change != nil {
				tc.change(&id)
			}
			_, err := p.Acquire(context.Background(), id, tc.resource, nil)
			var e *entra.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want *entra.Error", err)
			}
			if e.Kind != tc.wantKind || e.AADSTS != tc.wantAADSTS || e.RetryAfter != tc.wantRetry {
				t.Errorf("got %s AADSTS%d retry=%v, want %s AADSTS%d retry=%v\n%s",
					e.Kind, e.AADSTS, e.RetryAfter, tc.wantKind, tc.wantAADSTS, tc.wantRetry, e.Message)
			}
			if !strings.Contains(e.Message, tc.wantText) {
				t.Errorf("message %q lacks %q", e.Message, tc.wantText)
			}
			assertNoSecret(t, err)
			if n := tokenPosts(sim); n > 1 {
				t.Errorf("%d token requests: MSAL must not retry", n)
			}
		})
	}
}

func TestAForeignAuthorityNeverReceivesTheSecret(t *testing.T) {
	t.Parallel()
	foreign := entra.Identity{
		Authority: "https://" + evilLoginHost + "/" + evilTenantID + "/", ClientID: evilClientID, Credential: entra.ClientSecret(evilSecret),
	}
	lookalike := foreign
	lookalike.Authority = "https://login.microsoftonline.com.evil.example/" + evilTenantID + "/"
	for _, id := range []entra.Identity{foreign, lookalike} {
		t.Run(id.Authority, func(t *testing.T) {
			t.Parallel()
			sim, p, _ := startSim(t)
			_, err := p.Acquire(context.Background(), id, "https://"+evilEnvironment+"/", nil)
			var te *trust.Error
			if !errors.As(err, &te) || te.Kind != trust.KindAuthority {
				t.Fatalf("got %v, want the authority refused", err)
			}
			assertNoSecret(t, err)
			if n := len(sim.Requests()); n != 0 {
				t.Errorf("%d requests reached the simulator, want none: %+v", n, sim.Requests())
			}
		})
	}

	// The same identity works once an operator explicitly trusts the host: the refusal
	// above is the policy's doing, not a broken setup.
	sim, p, _ := startSim(t, evilLoginHost)
	if _, err := p.Acquire(context.Background(), foreign, "https://"+evilEnvironment+"/", nil); err != nil {
		t.Fatalf("with %s trusted: %v", evilLoginHost, err)
	}
	if n := tokenPosts(sim); n != 1 {
		t.Errorf("%d token requests with the host trusted, want 1", n)
	}
}

// assertNoSecret fails if any rendering of err holds a client secret.
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	out := fmt.Sprintf("%v %+v %#v %s", err, err, err, err)
	for _, s := range []string{simulator.DemoClientSecret, evilSecret, "wrong~secret.value"} {
		if strings.Contains(out, s) {
			t.Fatal("an error rendering contains a client secret")
		}
	}
}
