package main

import (
	"crypto/sha1" //nolint:gosec // name-based (version 5) UUIDs, not a security use
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/d365-operator/d365-operator/internal/simulator"
)

// benchTenantID is the one Entra tenant of the benchmark world (commercial cloud).
const benchTenantID = "b3e1c0de-0000-4000-8000-00000000be7c"

// identity is one app registration the connections share.
type identity struct {
	ClientID string
	Secret   string
}

// world is what the simulator serves: K apps in one tenant, each an application user of
// every environment.
type world struct {
	Identities []identity
	// EnvHosts are the environments' host names (under .dynamics.com, trusted by default).
	EnvHosts []string
}

func newWorld(o options) world {
	w := world{}
	for i := range o.Identities {
		w.Identities = append(w.Identities, identity{
			ClientID: nameGUID("bench-app", fmt.Sprint(i)),
			// A made-up value, generated per app; the simulator is the only one who knows it.
			Secret: fmt.Sprintf("bench~%03d.%s", i, nameGUID("bench-secret", fmt.Sprint(i))[:13]),
		})
	}
	// Real cloud suffixes, so the operator's default trust policy accepts them with no
	// extra flags; the simulator answers for them on loopback through --host-alias.
	suffixes := []string{"crm", "crm4", "crm11", "crm3", "crm5"}
	for i := range o.Environments {
		w.EnvHosts = append(w.EnvHosts, fmt.Sprintf("bench%d.%s.dynamics.com", i, suffixes[i%len(suffixes)]))
	}
	return w
}

// simulatorConfig returns the simulator's configuration for w.
func (w world) simulatorConfig(lifetime time.Duration) simulator.Config {
	tenant := simulator.Tenant{
		ID: benchTenantID, Domain: "bench.onmicrosoft.com", DisplayName: "Benchmark",
		AuthorityHost: simulator.DefaultAuthorityHost,
	}
	users := make([]simulator.ApplicationUser, 0, len(w.Identities))
	for _, id := range w.Identities {
		tenant.Apps = append(tenant.Apps, simulator.App{
			ClientID: id.ClientID, DisplayName: "bench " + id.ClientID[:8],
			Secrets: []simulator.Secret{{Value: id.Secret}},
		})
		users = append(users, simulator.ApplicationUser{ClientID: id.ClientID,
			Privileges: []simulator.Privilege{{Name: "prvReadUser"}, {Name: "prvReadAccount"}}})
	}
	cfg := simulator.Config{TokenLifetime: lifetime, Tenants: []simulator.Tenant{tenant}}
	for _, h := range w.EnvHosts {
		cfg.Environments = append(cfg.Environments, simulator.Environment{
			Host: h, TenantID: benchTenantID, ApplicationUsers: users,
		})
	}
	return cfg
}

// pair is an (identity, environment) combination: tokens are per identity and resource.
type pair struct {
	Identity, Env int
}

// assignment spreads connection i over identities and environments so that every
// (identity, environment) pair in use gets about the same number of connections.
func (w world) assignment(i int) pair {
	k := len(w.Identities)
	return pair{Identity: i % k, Env: (i / k) % len(w.EnvHosts)}
}

// nameGUID makes a stable GUID from names (UUID version 5 layout), so runs are comparable.
func nameGUID(parts ...string) string {
	sum := sha1.Sum([]byte(strings.Join(parts, "\x00"))) //nolint:gosec // see import
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
