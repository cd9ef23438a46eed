package entra_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/d365-operator/d365-operator/internal/entra"
	"github.com/d365-operator/d365-operator/internal/simulator"
	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

func TestSignInWithADeviceCodeThenRedeemTheCache(t *testing.T) {
	sim, p, _ := startSim(t)
	hc := transport.NewHTTPClient(transport.Options{RootCAs: sim.CertPool(), HostAliases: sim.HostAliases(), Timeout: 10 * time.Second})
	authority := "https://login.microsoftonline.com/" + simulator.DemoTenantID + "/"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var approveErr error
	res, err := entra.SignIn(ctx, entra.SignInOptions{
		Authority: authority, ClientID: simulator.DemoPublicClientID, Resource: demoResource, DeviceCode: true, HTTPClient: hc,
		ShowDeviceCode: func(msg string) {
			code := regexp.MustCompile(`enter the code (\S+)`).FindStringSubmatch(msg)
			if code == nil {
				approveErr = errors.New("no code in " + msg)
				return
			}
			approveErr = sim.ApproveDeviceCode(code[1], simulator.DemoUserUPN)
		},
	})
	if err != nil || approveErr != nil {
		t.Fatalf("SignIn: %v %v", err, approveErr)
	}
	if res.Username != simulator.DemoUserUPN || !strings.HasSuffix(res.HomeAccountID, "."+simulator.DemoTenantID) {
		t.Errorf("signed in as %q (%s)", res.Username, res.HomeAccountID)
	}

	var saved [][]byte
	cred, err := entra.Delegated(entra.DelegatedOptions{Cache: res.Cache, Save: func(_ context.Context, doc []byte) error {
		saved = append(saved, doc)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := entra.Identity{Authority: authority, ClientID: simulator.DemoPublicClientID, Credential: cred}
	tok, err := p.Acquire(ctx, id, demoResource, nil)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if claims, err := sim.VerifyToken(tok.AccessToken); err != nil || claims.UPN != simulator.DemoUserUPN {
		t.Errorf("token claims %+v, %v", claims, err)
	}
	if len(saved) != 1 || string(saved[0]) == string(res.Cache) {
		t.Errorf("%d rotated caches saved, want 1 differing from the sign-in's", len(saved))
	}
}

func TestSignInRefusesUntrustedHostsWithoutARequest(t *testing.T) {
	sim, _, _ := startSim(t)
	hc := transport.NewHTTPClient(transport.Options{RootCAs: sim.CertPool(), HostAliases: sim.HostAliases(), Timeout: 10 * time.Second})
	for _, o := range []entra.SignInOptions{
		{Authority: "https://" + evilLoginHost + "/" + evilTenantID + "/", Resource: demoResource},
		{Authority: "https://login.microsoftonline.com/" + simulator.DemoTenantID + "/", Resource: "https://crm.contoso.example/"},
	} {
		o.ClientID, o.DeviceCode, o.HTTPClient = simulator.DemoPublicClientID, true, hc
		_, err := entra.SignIn(context.Background(), o)
		if _, ok := errors.AsType[*trust.Error](err); !ok {
			t.Errorf("SignIn(%s, %s) = %v, want a trust error", o.Authority, o.Resource, err)
		}
	}
	if n := len(sim.Requests()); n != 0 {
		t.Errorf("%d requests reached the simulator", n)
	}
}
