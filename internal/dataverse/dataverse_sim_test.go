package dataverse_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/entra"
	"github.com/d365-operator/d365-operator/internal/simulator"
	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

const (
	foreignTenantID = "f0f0f0f0-0000-4000-8000-000000000001"
	foreignEnvHost  = "fabrikam.crm.dynamics.com" // a real-looking environment whose challenge names a foreign login host
	foreignClientID = "f0f0f0f0-0000-4000-8000-0000000000c1"
	foreignSecret   = "foreign~Secret.Value_that-must-never-leave"
)

var simStart = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// simWorld is the simulator plus the operator's clients, wired as in production: the
// transport client with host aliases, one Dataverse client and one token provider.
type simWorld struct {
	sim      *simulator.Server
	clock    *clocktesting.FakeClock
	dv       *dataverse.Client
	provider *entra.Provider
}

func startSim(t *testing.T) *simWorld {
	t.Helper()
	clk := clocktesting.NewFakeClock(simStart)
	cfg := simulator.DefaultConfig()
	cfg.Clock = clk
	cfg.Tenants = append(cfg.Tenants, simulator.Tenant{
		ID: foreignTenantID, DisplayName: "Foreign", AuthorityHost: "login.evil.example",
		Apps: []simulator.App{{ClientID: foreignClientID, Secrets: []simulator.Secret{{Value: foreignSecret}}}},
	})
	cfg.Environments = append(cfg.Environments, simulator.Environment{Host: foreignEnvHost, TenantID: foreignTenantID,
		ApplicationUsers: []simulator.ApplicationUser{{ClientID: foreignClientID}}})
	sim, err := simulator.Start(cfg)
	if err != nil {
		t.Fatalf("simulator.Start: %v", err)
	}
	t.Cleanup(sim.Close)
	hc := transport.NewHTTPClient(transport.Options{RootCAs: sim.CertPool(), HostAliases: sim.HostAliases(), Timeout: 10 * time.Second})
	return &simWorld{
		sim:      sim,
		clock:    clk,
		dv:       dataverse.NewClient(hc, dataverse.WithClock(clk)),
		provider: entra.NewProvider(entra.ProviderOptions{HTTPClient: hc, Clock: clk, Trust: trust.NewPolicy(nil, nil)}),
	}
}

// connect runs the operator's sequence: discover, acquire, and return the token.
func (w *simWorld) connect(t *testing.T, envURL, clientID, secret string) (dataverse.Authority, entra.Token, error) {
	t.Helper()
	ctx := context.Background()
	auth, err := w.dv.Discover(ctx, envURL)
	if err != nil {
		t.Fatalf("Discover(%s): %v", envURL, err)
	}
	id := entra.Identity{Authority: auth.Authority, ClientID: clientID, Credential: entra.ClientSecret(secret)}
	tok, err := w.provider.Acquire(ctx, id, auth.Resource, nil)
	return auth, tok, err
}

func TestSimulatorDiscoveryTokenAndWhoAmI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		envHost       string
		clientID      string
		wantAuthority string
	}{
		{"commercial", simulator.DemoEnvironmentHost, simulator.DemoClientID,
			"https://login.microsoftonline.com/" + simulator.DemoTenantID + "/"},
		{"GCC High", simulator.DemoGovEnvironmentHost, simulator.DemoGovClientID,
			"https://login.microsoftonline.us/" + simulator.DemoGovTenantID + "/"},
		{"China", simulator.DemoChinaEnvironmentHost, simulator.DemoChinaClientID,
			"https://login.partner.microsoftonline.cn/" + simulator.DemoChinaTenantID + "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := startSim(t)
			auth, tok, err := w.connect(t, "https://"+tc.envHost, tc.clientID, simulator.DemoClientSecret)
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			if auth.Authority != tc.wantAuthority || auth.Resource != "https://"+tc.envHost+"/" {
				t.Errorf("discovered %+v, want authority %s", auth, tc.wantAuthority)
			}
			who, err := w.dv.WhoAmI(context.Background(), "https://"+tc.envHost+"/", tok.AccessToken)
			if err != nil {
				t.Fatalf("WhoAmI: %v", err)
			}
			if who.UserID == "" || who.OrganizationID == "" {
				t.Errorf("WhoAmI = %+v", who)
			}
			wantProbe := w.sim.CountRequests(func(r simulator.Request) bool {
				return r.Host == tc.envHost && r.Path == "/api/data/v9.2/" && r.Status == http.StatusUnauthorized
			})
			if wantProbe != 1 {
				t.Errorf("%d challenge probes, want 1", wantProbe)
			}
		})
	}
}

func TestSimulatorDemoIdentity(t *testing.T) {
	t.Parallel()
	w := startSim(t)
	_, tok, err := w.connect(t, "https://"+simulator.DemoEnvironmentHost, simulator.DemoClientID, simulator.DemoClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	who, err := w.dv.WhoAmI(context.Background(), "https://"+simulator.DemoEnvironmentHost, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	want := dataverse.Identity{UserID: "22cc22cc-dd33-4e44-8f55-66aa66aa66aa", BusinessUnitID: "11bb11bb-cc22-4d33-8e44-55ff55ff55ff", OrganizationID: "00aa00aa-bb11-4c22-8d33-44ee44ee44ee"}
	if !who.Budget.HasRequests || !who.Budget.HasExecutionTime {
		t.Errorf("WhoAmI budget %+v, want both service protection headers read", who.Budget)
	}
	who.Budget = dataverse.Budget{}
	if who != want {
		t.Errorf("WhoAmI = %+v, want %+v", who, want)
	}
}

func TestSimulatorAdminServiceDiscovery(t *testing.T) {
	t.Parallel()
	w := startSim(t)
	auth, err := w.dv.Discover(context.Background(), "https://"+simulator.DemoAdminServiceHost)
	if err != nil {
		t.Fatal(err)
	}
	if auth.TenantID != simulator.DemoTenantID || auth.Resource != "https://"+simulator.DemoAdminServiceHost+"/" {
		t.Errorf("discovered %+v", auth)
	}
}

func TestSimulatorWhoAmIFailures(t *testing.T) {
	t.Parallel()
	env := "https://" + simulator.DemoEnvironmentHost + "/"
	tests := []struct {
		name      string
		clientID  string
		setup     func(*simWorld)
		wantKind  dataverse.Kind
		wantRetry time.Duration
		wantText  string
	}{
		{"an app that is not an application user", simulator.DemoUnlinkedClientID, nil,
			dataverse.ApplicationUserNotFound, 0, "Power Platform admin center"},
		{"an environment in administration mode", simulator.DemoClientID, func(w *simWorld) { w.sim.SetAdminMode(simulator.DemoEnvironmentHost, true) },
			dataverse.AdminMode, 0, "administration mode"},
		{"throttling by number of requests", simulator.DemoClientID, func(w *simWorld) {
			w.sim.InjectFault(simulator.Fault{Host: simulator.DemoEnvironmentHost, PathPrefix: "/api/data/v9.2/WhoAmI", Status: 429, RetryAfter: "7"})
		}, dataverse.Throttled, 7 * time.Second, "number of requests"},
		{"throttling by concurrency", simulator.DemoClientID, func(w *simWorld) {
			w.sim.InjectFault(simulator.Fault{Host: simulator.DemoEnvironmentHost, PathPrefix: "/api/data/v9.2/WhoAmI", Status: 429, RetryAfter: "2",
				Body: `{"error":{"code":"0x80072326","message":"Number of concurrent requests exceeded the limit of 52."}}`})
		}, dataverse.Throttled, 2 * time.Second, "concurrent requests"},
		{"an outage", simulator.DemoClientID, func(w *simWorld) {
			w.sim.InjectFault(simulator.Fault{Host: simulator.DemoEnvironmentHost, PathPrefix: "/api/data/v9.2/WhoAmI", Status: 502})
		}, dataverse.Unavailable, 0, "HTTP 502"},
		{"an expired token", simulator.DemoClientID, func(w *simWorld) { w.clock.Step(2 * time.Hour) },
			dataverse.TokenRejected, 0, "IDX10223"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := startSim(t)
			_, tok, err := w.connect(t, env, tc.clientID, simulator.DemoClientSecret)
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			if tc.setup != nil {
				tc.setup(w)
			}
			_, err = w.dv.WhoAmI(context.Background(), env, tok.AccessToken)
			checkError(t, err, dataverse.OpWhoAmI, tc.wantKind, tc.wantText, "")
			var de *dataverse.Error
			if errors.As(err, &de) && de.RetryAfter != tc.wantRetry {
				t.Errorf("RetryAfter %v, want %v", de.RetryAfter, tc.wantRetry)
			}
			if strings.Contains(err.Error(), tok.AccessToken) {
				t.Error("the error contains the access token")
			}
		})
	}
}

func TestSimulatorDiscoveryThrottled(t *testing.T) {
	t.Parallel()
	w := startSim(t)
	w.sim.InjectFault(simulator.Fault{Host: simulator.DemoEnvironmentHost, Status: 429, RetryAfter: "30", Count: 1})
	_, err := w.dv.Discover(context.Background(), "https://"+simulator.DemoEnvironmentHost)
	checkError(t, err, dataverse.OpDiscover, dataverse.Throttled, "retrying after 30s", "30s")
	if _, err := w.dv.Discover(context.Background(), "https://"+simulator.DemoEnvironmentHost); err != nil {
		t.Errorf("after the fault: %v", err)
	}
}

// A challenge naming a foreign login host must not lead to the secret being sent there:
// discovery reports the authority, the provider refuses it, and the simulator's request
// log shows that nothing but the anonymous challenge probe was ever sent.
func TestSimulatorForeignChallengeNeverReceivesTheSecret(t *testing.T) {
	t.Parallel()
	w := startSim(t)
	auth, _, err := w.connect(t, "https://"+foreignEnvHost, foreignClientID, foreignSecret)
	if auth.AuthorityHost != "https://login.evil.example" {
		t.Fatalf("the challenge named %s, want login.evil.example (test setup)", auth.AuthorityHost)
	}
	var te *trust.Error
	if !errors.As(err, &te) || te.Kind != trust.KindAuthority || te.Host != "login.evil.example" {
		t.Fatalf("got %v, want the authority login.evil.example refused", err)
	}
	if strings.Contains(err.Error(), foreignSecret) {
		t.Error("the error contains the secret")
	}
	for _, r := range w.sim.Requests() {
		if r.Host != foreignEnvHost || r.Method != http.MethodGet || r.ClientID != "" {
			t.Errorf("unexpected request %s %s%s (client %q)", r.Method, r.Host, r.Path, r.ClientID)
		}
	}
	if n := w.sim.CountRequests(func(r simulator.Request) bool { return r.Host == "login.evil.example" }); n != 0 {
		t.Errorf("%d requests reached login.evil.example", n)
	}
}
