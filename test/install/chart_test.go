package install_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/discovery"
)

const chartDir = "charts/d365-operator"

// chartCases are value sets a platform team would use: the defaults, every toggle on
// (including namespaced RBAC), and metrics off with a ServiceAccount managed elsewhere.
var chartCases = []struct {
	name      string
	namespace string
	// watched are namespaces the values name, created for real before the dry run.
	watched []string
	// clusterResources is the --cluster-resource-namespace the Deployment must get (created
	// for real too).
	clusterResources string
	set              []string
}{
	{name: "defaults", namespace: "d365-operator-system", clusterResources: "d365-operator-system"},
	{
		name: "every toggle on", namespace: "ops", watched: []string{"team-a", "team-b"}, clusterResources: "d365-system",
		set: []string{
			"replicas=2", "leaderElection.enabled=true",
			"watchNamespaces={team-a,team-b}", "clusterResourceNamespace=d365-system",
			"extraAuthorityHosts={login.sim.example}", "extraEnvironmentHosts={.sim.example}",
			"metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prometheus",
			"networkPolicy.enabled=true", "networkPolicy.egress.enabled=true",
			"rbac.aggregateToDefaultRoles=true",
			"image.digest=sha256:0000000000000000000000000000000000000000000000000000000000000000",
			"extraArgs={--zap-encoder=console}",
		},
	},
	{
		name: "metrics off, own ServiceAccount", namespace: "platform", clusterResources: "platform",
		set: []string{
			"metrics.enabled=false", "leaderElection.enabled=false", "rbac.userRoles=false",
			"serviceAccount.create=false", "serviceAccount.name=d365-operator-existing",
		},
	},
}

// helmTemplate renders the chart as `helm install` would for the test control plane's
// Kubernetes version, CRDs included.
func helmTemplate(t *testing.T, namespace string, set ...string) []byte {
	t.Helper()
	args := make([]string, 0, 8+2*len(set))
	args = append(args, "template", "d365-operator", chartDir, "--namespace", namespace,
		"--include-crds", "--kube-version", serverVersion(t))
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return command(t, tool(t, "helm"), args...)
}

// serverVersion is the test control plane's Kubernetes version. A kube-apiserver built from
// the module proxy (hack/envtest-assets.sh) reports v0.0.0-master, so the version then comes
// from go.mod the way that script derives it: k8s.io/api v0.37.1 is Kubernetes 1.37.1.
func serverVersion(t *testing.T) string {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if strings.HasPrefix(v.GitVersion, "v1.") {
		return v.GitVersion
	}
	gomod, err := os.ReadFile(filepath.Join(env.RepoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "k8s.io/api" && strings.HasPrefix(f[1], "v0.") {
			return "v1." + strings.TrimPrefix(f[1], "v0.")
		}
	}
	t.Fatalf("the server reports %q and go.mod has no k8s.io/api v0.x", v.GitVersion)
	return ""
}

func TestHelmChartLints(t *testing.T) {
	command(t, tool(t, "helm"), "lint", "--strict", chartDir)
}

// Every object the chart renders, for each value set, is accepted by a real API server.
func TestHelmChartPassesServerDryRun(t *testing.T) {
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			createNamespaces(t, append([]string{tc.namespace, tc.clusterResources}, tc.watched...)...)
			objs := decode(t, helmTemplate(t, tc.namespace, tc.set...))
			serverDryRun(t, objs)

			deploy := only(t, objs, "Deployment")
			assertHardened(t, deploy)
			assertKnownFlags(t, deploy)
			assertOperatorRules(t, objs, tc.watched)
			assertClusterResourceFlag(t, objs, tc.clusterResources)
			if len(tc.watched) > 0 {
				assertClusterResources(t, objs, tc.clusterResources, true)
			}
			assertAllCRDs(t, objs)
		})
	}
}

// The chart's crds/ and files/manager-role.yaml are copies of the generated files, so the two
// install paths cannot drift (`make manifests` copies them; `make verify` catches a stale copy).
func TestHelmChartCopiesGeneratedFiles(t *testing.T) {
	repo := os.DirFS(env.RepoRoot)
	generated, err := fs.Glob(repo, "config/crd/bases/*.yaml")
	if err != nil || len(generated) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	copies, _ := fs.Glob(repo, chartDir+"/crds/*.yaml")
	if len(copies) != len(generated) {
		t.Errorf("%s/crds holds %d files, config/crd/bases %d: run `make manifests`", chartDir, len(copies), len(generated))
	}
	pairs := map[string]string{"config/rbac/role.yaml": chartDir + "/files/manager-role.yaml"}
	for _, g := range generated {
		pairs[g] = chartDir + "/crds/" + path.Base(g)
	}
	for src, dst := range pairs {
		a, errA := fs.ReadFile(repo, src)
		b, errB := fs.ReadFile(repo, dst)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s is not a copy of %s (%v, %v): run `make manifests`", dst, src, errA, errB)
		}
	}
}

// Several replicas without leader election would all write the same Secrets: refused at
// render time, with a message saying why.
func TestHelmChartRefusesReplicasWithoutLeaderElection(t *testing.T) {
	cmd := exec.Command(tool(t, "helm"), "template", "x", chartDir,
		"--set", "replicas=2", "--set", "leaderElection.enabled=false")
	cmd.Dir = env.RepoRoot
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("helm template accepted replicas=2 with leaderElection.enabled=false")
	}
	if !strings.Contains(string(out), "leaderElection.enabled=true") {
		t.Errorf("the refusal does not say what to do:\n%s", out)
	}
}
