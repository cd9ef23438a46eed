package install_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/d365-operator/d365-operator/internal/shard"
)

var (
	ruleCRDOnce sync.Once
	ruleCRDErr  error
)

// installPrometheusRuleCRD installs the Prometheus Operator's PrometheusRule CRD once, as a
// cluster with the Prometheus Operator has it.
func installPrometheusRuleCRD(t *testing.T) {
	t.Helper()
	ruleCRDOnce.Do(func() {
		raw, err := os.ReadFile(filepath.Join("testdata", "prometheusrule-crd.yaml"))
		if err != nil {
			ruleCRDErr = err
			return
		}
		objs, err := decodeYAML(raw)
		if err != nil {
			ruleCRDErr = err
			return
		}
		for _, o := range objs {
			if ruleCRDErr = env.Client.Create(context.Background(), o); ruleCRDErr != nil {
				return
			}
		}
		ruleCRDErr = waitForKind(context.Background(), "monitoring.coreos.com", "v1", "PrometheusRule")
	})
	if ruleCRDErr != nil {
		t.Fatalf("installing the PrometheusRule CRD: %v", ruleCRDErr)
	}
}

// shards: 3 renders three Deployments with disjoint pods and Leases whose selectors split
// the connections between them (each label value is picked by exactly one); the alerts
// and the dashboard render and are accepted by the API server.
func TestHelmChartShardsAndMonitoring(t *testing.T) {
	installPrometheusRuleCRD(t)
	const namespace, shards = "fleet", 3
	createNamespaces(t, namespace)
	objs := decode(t, helmTemplate(t, namespace, "shards=3", "prometheusRule.enabled=true",
		"prometheusRule.labels.release=prometheus", "grafanaDashboard.enabled=true"))
	serverDryRun(t, objs)

	deploys := find(objs, "Deployment")
	if len(deploys) != shards {
		t.Fatalf("%d Deployments for shards=3, want 3", len(deploys))
	}
	selectors, leases, podLabels := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, u := range deploys {
		assertHardened(t, u)
		assertKnownFlags(t, u)
		var d appsv1.Deployment
		convert(t, u, &d)
		args := map[string]string{}
		for _, a := range d.Spec.Template.Spec.Containers[0].Args {
			name, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			args[name] = value
		}
		selectors[args["watch-label-selector"]] = true
		leases[args["leader-election-id"]] = true
		podLabels[d.Spec.Template.Labels[shard.Label]] = true
		if !reflect.DeepEqual(d.Spec.Selector.MatchLabels[shard.Label], d.Spec.Template.Labels[shard.Label]) {
			t.Errorf("%s: its selector and its pods disagree on the shard", d.Name)
		}
	}
	for i := range shards {
		if !selectors[shard.Selector(i, shards)] {
			t.Errorf("no Deployment runs with --watch-label-selector=%s (have %v)", shard.Selector(i, shards), selectors)
		}
		if !podLabels[shard.LabelValue(i)] {
			t.Errorf("no Deployment's pods carry shard label %q", shard.LabelValue(i))
		}
	}
	if len(leases) != shards {
		t.Errorf("leader-election ids %v: each shard needs its own Lease", leases)
	}
	// Every shard reads identities' Secrets in the same namespace: whichever shard an
	// identity's connections land on.
	assertClusterResourceFlag(t, objs, namespace)

	rule := only(t, objs, "PrometheusRule")
	want, err := os.ReadFile(filepath.Join(env.RepoRoot, chartDir, "files", "prometheus-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var wantSpec map[string]any
	if err := yaml.Unmarshal(want, &wantSpec); err != nil {
		t.Fatal(err)
	}
	gotSpec, _, _ := unstructured.NestedMap(rule.Object, "spec")
	if !reflect.DeepEqual(normalize(t, gotSpec), normalize(t, wantSpec)) {
		t.Error("the PrometheusRule's spec is not files/prometheus-rules.yaml, the file promtool tests")
	}
	dashboard := only(t, objs, "ConfigMap")
	data, _, _ := unstructured.NestedString(dashboard.Object, "data", "d365-operator.json")
	raw, err := os.ReadFile(filepath.Join(env.RepoRoot, chartDir, "files", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(data) != strings.TrimSpace(string(raw)) {
		t.Error("the dashboard ConfigMap does not hold files/grafana-dashboard.json unchanged")
	}
	if dashboard.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("dashboard labels %v: Grafana's sidecar looks for grafana_dashboard=1", dashboard.GetLabels())
	}
}

// normalize round-trips through JSON so that numbers and maps compare alike.
func normalize(t *testing.T, v any) any {
	t.Helper()
	raw, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := yaml.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
