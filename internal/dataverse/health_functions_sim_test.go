package dataverse_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/simulator"
)

const demoUserID = "22cc22cc-dd33-4e44-8f55-66aa66aa66aa"

var demoEnvURL = "https://" + simulator.DemoEnvironmentHost

func (w *simWorld) demoToken(t *testing.T) string {
	t.Helper()
	_, tok, err := w.connect(t, demoEnvURL, simulator.DemoClientID, simulator.DemoClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func privilegeSet(up dataverse.UserPrivileges) map[string]string {
	got := map[string]string{}
	for _, p := range up.Privileges {
		got[p.Name] = p.Depth.String()
	}
	return got
}

func TestSimulatorRetrieveUserPrivileges(t *testing.T) {
	t.Parallel()
	w := startSim(t)
	tok := w.demoToken(t)
	for _, omit := range []bool{false, true} {
		w.sim.SetOmitPrivilegeNames(simulator.DemoEnvironmentHost, omit)
		up, err := w.dv.RetrieveUserPrivileges(context.Background(), demoEnvURL, tok, demoUserID)
		if err != nil {
			t.Fatalf("omit names %v: %v", omit, err)
		}
		got := privilegeSet(up)
		want := map[string]string{"prvReadUser": "Global", "prvReadAccount": "Global", "prvCreateContact": "Local"}
		if len(got) != len(want) || got["prvCreateContact"] != "Local" || got["prvReadAccount"] != "Global" || got["prvReadUser"] != "Global" {
			t.Errorf("omit names %v: privileges %v, want %v", omit, got, want)
		}
		if !up.Budget.HasRequests || up.Budget.ExecutionTime != 20*time.Minute {
			t.Errorf("omit names %v: budget %+v, want both headers read (1,200.00 s)", omit, up.Budget)
		}
	}
	lookups := w.sim.CountRequests(func(r simulator.Request) bool { return strings.HasSuffix(r.Path, "/privileges") })
	if lookups != 1 {
		t.Errorf("%d reads of the privileges entity set, want 1 (only when the answer lacks names)", lookups)
	}
	calls := w.sim.CountRequests(func(r simulator.Request) bool {
		return strings.HasSuffix(r.Path, "/systemusers("+demoUserID+")/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()") && r.Method == "GET"
	})
	if calls != 2 {
		t.Errorf("%d RetrieveUserPrivileges requests on the documented path, want 2", calls)
	}
}

func TestSimulatorRetrieveUserPrivilegesDenied(t *testing.T) {
	t.Parallel()
	w := startSim(t)
	tok := w.demoToken(t)
	w.sim.SetApplicationUserPrivileges(simulator.DemoEnvironmentHost, simulator.DemoClientID, simulator.Privilege{Name: "prvReadAccount"})
	_, err := w.dv.RetrieveUserPrivileges(context.Background(), demoEnvURL, tok, demoUserID)
	var de *dataverse.Error
	if !errors.As(err, &de) || de.Kind != dataverse.PrivilegeDenied || de.Privilege != "prvReadUser" || de.Code != "0x80040220" {
		t.Fatalf("err = %#v, want PrivilegeDenied naming prvReadUser (0x80040220)", err)
	}
	if !strings.Contains(de.Message, "security role") || strings.Contains(de.Message, tok) {
		t.Errorf("message %q: want what to do, never the token", de.Message)
	}
	if _, err := w.dv.RetrieveUserPrivileges(context.Background(), demoEnvURL, tok, "not-a-guid)/x"); err == nil {
		t.Error("a user id that is not a GUID was sent")
	}
}

func TestSimulatorEnvironmentInfo(t *testing.T) {
	t.Parallel()
	w := startSim(t)
	tok := w.demoToken(t)
	v, err := w.dv.RetrieveVersion(context.Background(), demoEnvURL, tok)
	if err != nil || v.Version != simulator.DefaultVersion {
		t.Fatalf("RetrieveVersion = %+v, %v; want %s", v, err, simulator.DefaultVersion)
	}
	w.sim.SetOrganization(simulator.DemoEnvironmentHost, "44ee44ee-0000-4000-8000-000000000001", "unqcopy", "Contoso (copy)")
	org, err := w.dv.RetrieveCurrentOrganization(context.Background(), demoEnvURL, tok)
	if err != nil {
		t.Fatal(err)
	}
	if org.OrganizationID != "44ee44ee-0000-4000-8000-000000000001" || org.UniqueName != "unqcopy" || org.FriendlyName != "Contoso (copy)" || org.URLName != "contoso" {
		t.Errorf("RetrieveCurrentOrganization = %+v", org)
	}
	n := w.sim.CountRequests(func(r simulator.Request) bool {
		return strings.HasSuffix(r.Path, "/RetrieveCurrentOrganization(AccessType=@p1)") || strings.HasSuffix(r.Path, "/RetrieveVersion()")
	})
	if n != 2 {
		t.Errorf("%d requests on the documented paths, want 2", n)
	}
}

func TestSimulatorRateLimitHeaders(t *testing.T) {
	t.Parallel()
	w := startSim(t)
	tok := w.demoToken(t)
	w.sim.SetRateLimitHeaders(simulator.DemoEnvironmentHost, simulator.RateLimitHeaders{BurstRemaining: "4,321", TimeRemaining: "1,034.50"})
	who, err := w.dv.WhoAmI(context.Background(), demoEnvURL, tok)
	if err != nil {
		t.Fatal(err)
	}
	if b := who.Budget; b.Requests != 4321 || b.ExecutionTime != 1034500*time.Millisecond {
		t.Errorf("budget %+v, want 4321 requests and 1034.5 s", b)
	}
}
