package environment

import (
	"net/url"
	"strings"

	"github.com/d365-operator/d365-operator/internal/trust"
)

// Kind is the service behind an environment host.
type Kind string

// Kinds of host. Only built-in cloud hosts are told apart: a private host added with the
// operator's extra-host flags (a simulator) is always Dataverse.
const (
	// Dataverse is an environment with the Web API (and WhoAmI).
	Dataverse Kind = "Dataverse"
	// OnlineManagementAPI is admin.services.crm<N>.<cloud>: no Web API, no WhoAmI, and its
	// bearer challenge is at /api/aad/challenge.
	OnlineManagementAPI Kind = "OnlineManagementAPI"
	// GlobalDiscovery is globaldisco.crm<N>.<cloud>, whose challenge is at /api/aad/challenge.
	GlobalDiscovery Kind = "GlobalDiscovery"
)

// KindOf says which service host (with or without port, in any case) is.
func KindOf(host string) Kind {
	h := bareHost(host)
	switch {
	case !trust.IsBuiltInEnvironmentHost(h):
		return Dataverse
	case strings.HasPrefix(h, "admin.services.crm"):
		return OnlineManagementAPI
	case strings.HasPrefix(h, "globaldisco.crm"):
		return GlobalDiscovery
	}
	return Dataverse
}

// bareHost lower-cases host and drops a port and a trailing dot.
func bareHost(host string) string {
	h := strings.ToLower(strings.TrimSpace(host))
	if u, err := url.Parse("https://" + h); err == nil && u.Hostname() != "" {
		h = u.Hostname()
	}
	return strings.TrimSuffix(h, ".")
}
