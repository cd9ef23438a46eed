package controller

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/simulator"
)

// secretAuth signs in as client with the client secret in Secret "d365-app".
func secretAuth(client string) v1alpha1.AuthSpec {
	return v1alpha1.AuthSpec{ClientSecret: &v1alpha1.ClientSecretAuth{
		ClientID: client, ClientSecretRef: v1alpha1.SecretKeyRef{Name: "d365-app", Key: "client-secret"}}}
}

// Each cloud's environments challenge with their own cloud's login host, and discovery
// alone sends the token request there: nothing is configured per cloud.
func TestSovereignCloudEnvironmentsUseTheirOwnEntraHosts(t *testing.T) {
	a := newAuthHarness(t)
	a.appSecret(clientSecret)
	clouds := []struct {
		name, host, tenant, client, login string
	}{
		{"gcc", gccEnvHost, gccTenantID, gccClientID, "login.microsoftonline.com"},
		{"gcc-high", govEnvHost, govTenantID, govClientID, "login.microsoftonline.us"},
		{"dod", dodEnvHost, dodTenantID, dodClientID, "login.microsoftonline.us"},
		{"china", cnEnvHost, cnTenantID, cnClientID, "login.partner.microsoftonline.cn"},
	}
	for _, c := range clouds {
		before := a.requestsTo(c.login)
		a.connectionWith(c.name, "https://"+c.host, secretAuth(c.client))
		a.reconcile(c.name)
		claims := a.expectReady(c.name)
		conn := a.get(c.name)
		if want := "https://" + c.login + "/" + c.tenant + "/"; conn.Status.Authority != want || conn.Status.TenantID != c.tenant {
			t.Errorf("%s: authority %q tenant %q, want %q discovered from the challenge", c.name, conn.Status.Authority, conn.Status.TenantID, want)
		}
		if claims.Audience != "https://"+c.host || claims.TenantID != c.tenant {
			t.Errorf("%s: token for %s in tenant %s", c.name, claims.Audience, claims.TenantID)
		}
		if a.requestsTo(c.login) == before {
			t.Errorf("%s: no request reached %s", c.name, c.login)
		}
		if c := findCondition(conn, v1alpha1.ConditionHealthy); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonWhoAmISucceeded {
			t.Errorf("%s: Healthy %s %s", conn.Name, c.Status, c.Reason)
		}
	}
	// The commercial login host never saw a sovereign tenant's request.
	if n := a.sim.CountRequests(func(r simulator.Request) bool {
		return r.Host == "login.microsoftonline.com" && (r.ClientID == govClientID || r.ClientID == dodClientID || r.ClientID == cnClientID)
	}); n != 0 {
		t.Errorf("%d sovereign requests went to login.microsoftonline.com", n)
	}
}

func TestAuthorityHostOverridesDiscovery(t *testing.T) {
	a := newAuthHarness(t)
	a.appSecret(clientSecret)

	// Another host of the same cloud, with the tenant still discovered.
	a.connectionWith("alias", "https://"+govEnvHost, secretAuth(govClientID), func(c *v1alpha1.D365Connection) {
		c.Spec.AuthorityHost = "https://" + usGovAltLogin
	})
	a.reconcile("alias")
	a.expectReady("alias")
	if got := a.get("alias").Status.Authority; got != "https://"+usGovAltLogin+"/"+govTenantID+"/" {
		t.Errorf("authority %q, want the override's host with the discovered tenant", got)
	}
	if a.requestsTo(usGovAltLogin) == 0 {
		t.Errorf("no request reached %s", usGovAltLogin)
	}

	// Tenant and host both given: no challenge request at all.
	probes := func() int {
		return a.sim.CountRequests(func(r simulator.Request) bool { return r.Host == dodEnvHost && r.Status == 401 })
	}
	a.connectionWith("given", "https://"+dodEnvHost, secretAuth(dodClientID), func(c *v1alpha1.D365Connection) {
		c.Spec.AuthorityHost = "https://login.microsoftonline.us"
		c.Spec.TenantID = dodTenantID
	})
	a.reconcile("given")
	a.expectReady("given")
	if n := probes(); n != 0 {
		t.Errorf("%d challenge requests, want none when tenantID and authorityHost are given", n)
	}

	// A host of the wrong cloud does not know the tenant.
	a.connectionWith("wrong-cloud", "https://"+govEnvHost, secretAuth(govClientID), func(c *v1alpha1.D365Connection) {
		c.Spec.AuthorityHost = "https://login.microsoftonline.com"
	})
	a.reconcile("wrong-cloud")
	a.expectFailure("wrong-cloud", v1alpha1.ReasonTenantNotFound, "AADSTS90002", "login.microsoftonline.us")
}

// The Online Management API challenges on /api/aad/challenge and has no WhoAmI: the token
// is issued and the status says the health check does not apply, instead of failing.
func TestOnlineManagementAPIConnection(t *testing.T) {
	a := newAuthHarness(t)
	a.appSecret(clientSecret)
	a.connectionWith("admin", "https://"+adminHost, secretAuth(clientID))

	a.reconcile("admin")
	claims := a.expectReady("admin")
	if claims.Audience != "https://"+adminHost {
		t.Errorf("token for %s, want the admin service", claims.Audience)
	}
	conn := a.get("admin")
	if conn.Status.TenantID != tenantID {
		t.Errorf("tenant %q, want %q from the admin service's challenge", conn.Status.TenantID, tenantID)
	}
	if c := findCondition(conn, v1alpha1.ConditionHealthy); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonHealthCheckNotApplicable {
		t.Errorf("Healthy = %s (%s: %s), want True with %s", c.Status, c.Reason, c.Message, v1alpha1.ReasonHealthCheckNotApplicable)
	}
	paths := map[string]int{}
	for _, r := range a.sim.Requests() {
		if r.Host == adminHost {
			paths[r.Path]++
		}
	}
	if paths["/api/aad/challenge"] != 1 || len(paths) != 1 {
		t.Errorf("requests to the admin service %v, want one challenge on /api/aad/challenge and nothing else", paths)
	}
	if strings.Contains(conn.Status.Authority, "organizations") || conn.Status.Authority != "https://login.microsoftonline.com/"+tenantID+"/" {
		t.Errorf("authority %q", conn.Status.Authority)
	}
}
