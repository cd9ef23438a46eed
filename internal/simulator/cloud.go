package simulator

import (
	"slices"
	"strings"
)

// cloud is what differs between the public and sovereign Entra ID instances: the alias
// group that instance discovery reports, the values of the OpenID configuration
// document, and the issuer host of v1 access tokens.
type cloud struct {
	preferredNetwork string
	preferredCache   string
	aliases          []string
	instanceName     string // cloud_instance_name
	graphHost        string // cloud_graph_host_name
	msgraphHost      string // msgraph_host
	rbacURL          string
	regionScope      string // tenant_region_scope
	// stsHost is the host of the v1 token issuer "https://<stsHost>/<tid>/".
	stsHost string
}

// knownClouds is the instance-discovery metadata recorded from Entra ID (protocol
// reference §3.2), extended with the per-cloud values of the OpenID document.
var knownClouds = []cloud{
	{
		preferredNetwork: "login.microsoftonline.com", preferredCache: "login.windows.net",
		aliases:      []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"},
		instanceName: "microsoftonline.com", graphHost: "graph.windows.net", msgraphHost: "graph.microsoft.com",
		rbacURL: "https://pas.windows.net", regionScope: "NA", stsHost: "sts.windows.net",
	},
	{
		preferredNetwork: "login.partner.microsoftonline.cn", preferredCache: "login.partner.microsoftonline.cn",
		aliases:      []string{"login.partner.microsoftonline.cn", "login.chinacloudapi.cn"},
		instanceName: "partner.microsoftonline.cn", graphHost: "graph.chinacloudapi.cn", msgraphHost: "microsoftgraph.chinacloudapi.cn",
		rbacURL: "https://pas.chinacloudapi.cn", regionScope: "AS", stsHost: "sts.chinacloudapi.cn",
	},
	{
		preferredNetwork: "login.microsoftonline.de", preferredCache: "login.microsoftonline.de",
		aliases:      []string{"login.microsoftonline.de"},
		instanceName: "microsoftonline.de", graphHost: "graph.cloudapi.de", msgraphHost: "graph.microsoft.de",
		rbacURL: "https://pas.cloudapi.de", regionScope: "EU", stsHost: "sts.microsoftonline.de",
	},
	{
		// The v1 issuer host of Azure Government tokens is unconfirmed; the simulator
		// issues and accepts https://login.microsoftonline.us/<tid>/.
		preferredNetwork: "login.microsoftonline.us", preferredCache: "login.microsoftonline.us",
		aliases:      []string{"login.microsoftonline.us", "login.usgovcloudapi.net"},
		instanceName: "microsoftonline.us", graphHost: "graph.windows.net", msgraphHost: "graph.microsoft.us",
		rbacURL: "https://pasff.usgovcloudapi.net", regionScope: "USGov", stsHost: "login.microsoftonline.us",
	},
	{
		preferredNetwork: "login-us.microsoftonline.com", preferredCache: "login-us.microsoftonline.com",
		aliases:      []string{"login-us.microsoftonline.com"},
		instanceName: "microsoftonline.com", graphHost: "graph.windows.net", msgraphHost: "graph.microsoft.com",
		rbacURL: "https://pas.windows.net", regionScope: "USG", stsHost: "sts.windows.net",
	},
}

// cloudFor returns the cloud an authority host belongs to. A host outside the known
// alias groups (a private or test host such as login.evil.example) is a cloud of its
// own, whose tokens are issued by the host itself.
func cloudFor(host string) cloud {
	host = strings.ToLower(host)
	for _, c := range knownClouds {
		if slices.Contains(c.aliases, host) {
			return c
		}
	}
	name := strings.TrimPrefix(host, "login.")
	return cloud{
		preferredNetwork: host, preferredCache: host, aliases: []string{host},
		instanceName: name, graphHost: "graph.windows.net", msgraphHost: "graph.microsoft.com",
		rbacURL: "https://pas.windows.net", regionScope: "NA", stsHost: host,
	}
}

// sameCloud reports whether two authority hosts are aliases of one Entra instance
// (login.windows.net and login.microsoftonline.com, for example).
func sameCloud(a, b string) bool {
	return cloudFor(a).preferredNetwork == cloudFor(b).preferredNetwork
}

// knownInstance reports whether instance discovery knows the host, i.e. whether real
// Entra ID would answer for it rather than with invalid_instance.
func knownInstance(host string) bool {
	host = strings.ToLower(host)
	for _, c := range knownClouds {
		if slices.Contains(c.aliases, host) {
			return true
		}
	}
	return false
}

// v1Issuer is the iss claim of the v1 access tokens that a tenant's cloud issues.
func v1Issuer(authorityHost, tenantID string) string {
	return "https://" + cloudFor(authorityHost).stsHost + "/" + tenantID + "/"
}
