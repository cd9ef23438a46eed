package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/simulator"
)

func requiring(privileges ...v1alpha1.RequiredPrivilege) func(*v1alpha1.D365Connection) {
	return func(c *v1alpha1.D365Connection) { c.Spec.HealthCheck.RequiredPrivileges = privileges }
}

// privilegeRequests counts RetrieveUserPrivileges calls that reached the simulator.
func (h *harness) privilegeRequests() int {
	return h.sim.CountRequests(func(r simulator.Request) bool { return strings.HasSuffix(r.Path, ".RetrieveUserPrivileges()") })
}

func TestMissingPrivilegesAreNamedAndAGrantHealsWithinAnInterval(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.sim.SetApplicationUserPrivileges(envHost, clientID, simulator.Privilege{Name: "prvReadUser"}, simulator.Privilege{Name: "prvReadAccount", Depth: "Local"})
	h.connection("app", requiring("prvReadAccount:Global", "prvCreateContact"))
	h.reconcile("app")

	c := h.condition("app", v1alpha1.ConditionHealthy)
	if c.Reason != v1alpha1.ReasonMissingPrivileges || !strings.Contains(c.Message, "prvCreateContact") ||
		!strings.Contains(c.Message, "prvReadAccount:Global (holds Local)") || !strings.Contains(c.Message, "Power Platform admin center") {
		t.Fatalf("Healthy = %s: %q; want MissingPrivileges naming both and what to do", c.Reason, c.Message)
	}
	if h.condition("app", v1alpha1.ConditionReady).Status != "False" {
		t.Error("Ready is not False with missing privileges")
	}

	h.sim.SetApplicationUserPrivileges(envHost, clientID, simulator.Privilege{Name: "prvReadUser"},
		simulator.Privilege{Name: "prvReadAccount", Depth: "Global"}, simulator.Privilege{Name: "prvCreateContact", Depth: "Basic"})
	h.advanceTo(epoch.Add(time.Minute + time.Second))
	h.reconcile("app")
	if c := h.condition("app", v1alpha1.ConditionHealthy); c.Status != "True" || c.Reason != v1alpha1.ReasonWhoAmISucceeded {
		t.Fatalf("after the grant Healthy = %s %s: %q; want True within a minute", c.Status, c.Reason, c.Message)
	}
	if n := h.privilegeRequests(); n != 2 {
		t.Errorf("%d privilege checks, want 2 (one per check)", n)
	}
}

func TestWithoutReadUserThePrivilegeCheckSaysSo(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("app", requiring("prvReadAccount"))
	h.reconcile("app")
	c := h.condition("app", v1alpha1.ConditionHealthy)
	if c.Reason != v1alpha1.ReasonMissingPrivileges || !strings.Contains(c.Message, "prvReadUser") {
		t.Fatalf("Healthy = %s: %q; want MissingPrivileges naming prvReadUser", c.Reason, c.Message)
	}
}

func TestNoPrivilegeCheckWithoutRequiredPrivileges(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("app")
	h.reconcile("app")
	h.advanceTo(epoch.Add(defaultHealthInterval + time.Second))
	h.reconcile("app")
	if n := h.privilegeRequests(); n != 0 {
		t.Errorf("%d privilege checks without requiredPrivileges, want none", n)
	}
	if n := h.whoAmIRequests(); n != 2 {
		t.Errorf("%d WhoAmI calls, want 2", n)
	}
	env := h.get("app").Status.Environment
	if env == nil || env.Version != simulator.DefaultVersion || env.OrganizationName != "contoso" || env.UniqueName == "" {
		t.Errorf("status.environment = %+v, want the simulator's version and names", env)
	}
	versions := h.sim.CountRequests(func(r simulator.Request) bool { return strings.HasSuffix(r.Path, "/RetrieveVersion()") })
	if versions != 1 {
		t.Errorf("%d RetrieveVersion calls within the hour, want 1", versions)
	}
}

func TestConnectionsOfOneIdentityShareOnePrivilegeCheckPerInterval(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.sim.SetApplicationUserPrivileges(envHost, clientID, simulator.Privilege{Name: "prvReadUser"}, simulator.Privilege{Name: "prvReadAccount"})
	const n = 25
	for i := range n {
		h.connection(fmt.Sprintf("app-%d", i), requiring("prvReadAccount"))
	}
	for round := range 2 {
		h.advanceTo(epoch.Add(time.Duration(round) * (defaultHealthInterval + time.Second)))
		for i := range n {
			h.reconcile(fmt.Sprintf("app-%d", i))
		}
		if got := h.privilegeRequests(); got != round+1 {
			t.Fatalf("after interval %d: %d privilege checks for %d connections of one identity, want %d", round+1, got, n, round+1)
		}
	}
	if c := h.condition("app-7", v1alpha1.ConditionHealthy); c.Status != "True" {
		t.Errorf("Healthy = %s %s: %q", c.Status, c.Reason, c.Message)
	}
}

func TestAnOrganizationChangeIsAWarning(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("app")
	h.reconcile("app")
	const copied = "eeeeeeee-0000-4000-8000-000000000001"
	h.sim.SetOrganization(envHost, copied, "unqcopied", "Contoso (copy)")
	h.advanceTo(epoch.Add(defaultHealthInterval + time.Second))
	h.reconcile("app")

	c := h.condition("app", v1alpha1.ConditionHealthy)
	if !strings.Contains(c.Message, "the environment at this URL is now a different organization") || !strings.Contains(c.Message, copied) {
		t.Errorf("Healthy message %q, want the organization change", c.Message)
	}
	if !strings.Contains(h.events.String(), "Warning OrganizationChanged") {
		t.Errorf("events %q, want a Warning OrganizationChanged", h.events.String())
	}
	if env := h.get("app").Status.Environment; env == nil || env.UniqueName != "unqcopied" || env.FriendlyName != "Contoso (copy)" {
		t.Errorf("status.environment = %+v, want the new organization's names at once", env)
	}
	// The next check changes nothing: the note stays, nothing is written.
	before := h.get("app").ResourceVersion
	h.advanceTo(epoch.Add(2 * (defaultHealthInterval + time.Second)))
	h.reconcile("app")
	if after := h.get("app"); after.ResourceVersion != before {
		t.Errorf("a passing check after the change wrote the status")
	}
}

func TestBudgetGaugesAndThrottleCounter(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.sim.SetApplicationUserPrivileges(envHost, clientID, simulator.Privilege{Name: "prvReadUser"})
	h.sim.SetRateLimitHeaders(envHost, simulator.RateLimitHeaders{BurstRemaining: "4,321", TimeRemaining: "1,034.50"})
	h.connection("app", requiring("prvReadUser"))
	h.reconcile("app")
	if got := gauge(t, "d365_dataverse_requests_remaining", envHost, appUserID); got != 4321 {
		t.Errorf("requests remaining = %v, want 4321", got)
	}
	if got := gauge(t, "d365_dataverse_execution_time_remaining_seconds", envHost, appUserID); got != 1034.5 {
		t.Errorf("execution time remaining = %v, want 1034.5", got)
	}

	before := testutil.ToFloat64(throttled.WithLabelValues(envHost, "execution_time"))
	h.sim.InjectFault(simulator.Fault{Host: envHost, PathPrefix: "/api/data/v9.2/systemusers", Status: 429, RetryAfter: "7", Count: 1,
		Body: `{"error":{"code":"0x80072321","message":"Combined execution time of incoming requests exceeded limit of 1,200,000  milliseconds over time window of 300 seconds."}}`})
	h.advanceTo(epoch.Add(defaultHealthInterval + time.Second))
	h.reconcile("app")
	if c := h.condition("app", v1alpha1.ConditionHealthy); c.Reason != v1alpha1.ReasonThrottled {
		t.Errorf("Healthy reason %s, want Throttled", c.Reason)
	}
	if got := testutil.ToFloat64(throttled.WithLabelValues(envHost, "execution_time")) - before; got != 1 {
		t.Errorf("throttled{limit=execution_time} grew by %v, want 1", got)
	}
}

// gauge reads a gauge from controller-runtime's registry by its environment and identity.
func gauge(t *testing.T, name, environment, identity string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label(m, "environment") == environment && label(m, "identity") == identity {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s{environment=%q, identity=%q}", name, environment, identity)
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
