package main

import (
	"net/http"
	"strings"
	"time"

	"github.com/d365-operator/d365-operator/internal/simulator"
)

// requestCounts are the calls the operator made to the simulated Entra ID and Dataverse in
// one phase, from the simulator's request log.
type requestCounts struct {
	// TokenByClient counts token requests (POST .../token) by client id.
	TokenByClient map[string]int
	// DiscoveryByEnv counts unauthenticated probes of an environment (the challenge).
	DiscoveryByEnv map[string]int
	// WhoAmI counts WhoAmI calls.
	WhoAmI int
	// Privileges counts RetrieveUserPrivileges calls.
	Privileges int
	// HealthByPair counts WhoAmI and RetrieveUserPrivileges calls by (client id, environment).
	HealthByPair map[string]int
	// EntraMetadata counts other Entra ID requests (OpenID configuration, instance
	// discovery): MSAL's, per client.
	EntraMetadata int
	// Failed counts answers other than 2xx, except the expected 401 challenges.
	Failed int
}

// countRequests counts the log's requests in [from, to).
func countRequests(log []simulator.Request, envHosts []string, from, to time.Time) requestCounts {
	envs := map[string]bool{}
	for _, h := range envHosts {
		envs[h] = true
	}
	c := requestCounts{TokenByClient: map[string]int{}, DiscoveryByEnv: map[string]int{}, HealthByPair: map[string]int{}}
	for _, r := range log {
		if r.Time.Before(from) || !r.Time.Before(to) {
			continue
		}
		path := strings.ToLower(r.Path)
		challenge := false
		switch {
		case envs[r.Host] && strings.Contains(path, "/whoami"):
			c.WhoAmI++
			c.HealthByPair[r.ClientID+" "+r.Host]++
		case envs[r.Host] && strings.HasSuffix(path, ".retrieveuserprivileges()"):
			c.Privileges++
			c.HealthByPair[r.ClientID+" "+r.Host]++
		case envs[r.Host] && r.Method == http.MethodGet && r.ClientID == "":
			c.DiscoveryByEnv[r.Host]++
			challenge = r.Status == http.StatusUnauthorized
		case !envs[r.Host] && r.Method == http.MethodPost && strings.HasSuffix(path, "/token"):
			c.TokenByClient[r.ClientID]++
		case !envs[r.Host]:
			c.EntraMetadata++
		}
		if (r.Status < 200 || r.Status > 299) && !challenge {
			c.Failed++
		}
	}
	return c
}

func (c requestCounts) tokens() int {
	n := 0
	for _, v := range c.TokenByClient {
		n += v
	}
	return n
}

func (c requestCounts) discoveries() int {
	n := 0
	for _, v := range c.DiscoveryByEnv {
		n += v
	}
	return n
}
