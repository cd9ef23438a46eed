package monitoring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/operatortest"
	"github.com/d365-operator/d365-operator/internal/simulator"
)

// query is one PromQL expression the chart ships, and where.
type query struct{ where, expr string }

// dashboardQueries are the dashboard's panel targets.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(env.RepoRoot, chartFiles, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var qs []query
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			qs = append(qs, query{where: "panel " + p.Title, expr: tg.Expr})
		}
	}
	if len(qs) < 10 {
		t.Fatalf("the dashboard has %d queries", len(qs))
	}
	return qs
}

// ruleQueries are the alert rules' expressions.
func ruleQueries(t *testing.T) []query {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(env.RepoRoot, chartFiles, "prometheus-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	var qs []query
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			qs = append(qs, query{where: "alert " + r.Alert, expr: r.Expr})
		}
	}
	return qs
}

// servedSeries parses a text exposition into series lines by metric name.
func servedSeries(scrape string) map[string][]string {
	out := map[string][]string{}
	for line := range strings.SplitSeq(scrape, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line+" ", "{ ")]
		out[name] = append(out[name], line)
	}
	return out
}

// Every query of the dashboard and the alerts names only metrics the operator serves, read
// from the /metrics of the operator's binary with a Ready connection (a token issued, a
// WhoAmI made). The test log renders each panel: its query and the served series it reads.
func TestQueriesNameServedMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sim, err := operatortest.StartSimulator(0)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	op, err := operatortest.Start(ctx, env, sim, t.TempDir(), "monitoring-operator")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := op.Stop(); err != nil {
			t.Error(err)
		}
	}()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "monitoring-demo"}}
	secret, conn := operatortest.DemoObjects(ns.Name, "sales")
	for _, o := range []client.Object{ns, secret, conn} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for {
		var got v1alpha1.D365Connection
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(conn), &got); err != nil {
			t.Fatal(err)
		}
		if apimeta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the connection did not become Ready: %+v; operator log %s", got.Status.Conditions, op.LogPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
	scrape, err := op.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	served := servedSeries(scrape)
	var rendered strings.Builder
	for _, q := range append(dashboardQueries(t), ruleQueries(t)...) {
		names := metricNames(q.expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric found in %q", q.where, q.expr)
		}
		_, _ = fmt.Fprintf(&rendered, "\n%s\n  %s\n", q.where, strings.Join(strings.Fields(q.expr), " "))
		for _, n := range names {
			lines, ok := served[n]
			if !ok {
				t.Errorf("%s: %s is not a metric the operator serves (query %q)", q.where, n, q.expr)
				continue
			}
			sort.Strings(lines)
			for i, l := range lines {
				if i == 3 {
					_, _ = fmt.Fprintf(&rendered, "    ... %d more %s series\n", len(lines)-3, n)
					break
				}
				_, _ = fmt.Fprintf(&rendered, "    %s\n", l)
			}
		}
	}
	t.Logf("the dashboard's and the alerts' queries against the operator's metrics:%s", rendered.String())
	if strings.Contains(scrape, simulator.DemoClientSecret) {
		t.Error("the metrics hold the client secret")
	}
}
