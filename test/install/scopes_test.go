package install_test

import (
	"io/fs"
	"os"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/yaml"
)

var (
	scopesOnce sync.Once
	scopes     map[schema.GroupResource]bool // true: namespaced
	scopesErr  error
)

// namespaced says whether the API server serves group/resource per namespace (a subresource
// such as clusterd365identities/status has its parent's scope), as its discovery says: the
// truth the chart's list of cluster-scoped resources is checked against.
func namespaced(t *testing.T, group, resource string) bool {
	t.Helper()
	scopesOnce.Do(func() {
		dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
		if err != nil {
			scopesErr = err
			return
		}
		lists, err := dc.ServerPreferredResources()
		if err != nil {
			scopesErr = err
			return
		}
		scopes = map[schema.GroupResource]bool{}
		for _, l := range lists {
			gv, err := schema.ParseGroupVersion(l.GroupVersion)
			if err != nil {
				scopesErr = err
				return
			}
			for _, r := range l.APIResources {
				scopes[schema.GroupResource{Group: gv.Group, Resource: r.Name}] = r.Namespaced
			}
		}
	})
	if scopesErr != nil {
		t.Fatalf("discovery: %v", scopesErr)
	}
	parent, _, _ := strings.Cut(resource, "/")
	ns, ok := scopes[schema.GroupResource{Group: group, Resource: parent}]
	if !ok {
		t.Fatalf("the API server does not serve %s in group %q", parent, group)
	}
	return ns
}

// generatedRules is config/rbac/role.yaml, the rules controller-gen generates.
func generatedRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	raw, err := os.ReadFile(path.Join(env.RepoRoot, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var generated rbacv1.ClusterRole
	if err := yaml.Unmarshal(raw, &generated); err != nil {
		t.Fatal(err)
	}
	return generated.Rules
}

// assertScopedGrants checks the operator's RBAC with watched namespaces: no Role holds a
// cluster-scoped resource (it would grant nothing: a rule written for nothing), and every
// generated rule is granted where the operator needs it — a cluster-scoped one
// cluster-wide (else its informer never syncs and no controller starts), a namespaced one
// in each watched namespace. (A RoleBinding to the generated ClusterRole, as
// config/watch-namespaces binds it, carries that role's cluster-scoped rules inertly.)
func assertScopedGrants(t *testing.T, objs []*unstructured.Unstructured, watched []string) {
	t.Helper()
	all := operatorGrants(t, objs)
	for _, g := range all {
		if g.roleKind != "Role" {
			continue
		}
		for _, r := range g.rules {
			for _, group := range r.APIGroups {
				for _, res := range r.Resources {
					if !namespaced(t, group, res) {
						t.Errorf("%s grants cluster-scoped %s in namespace %s, which grants nothing", g.binding, res, g.namespace)
					}
				}
			}
		}
	}
	grantedIn := func(ns, verb, group, res string) bool {
		return slices.ContainsFunc(all, func(g grant) bool {
			return (g.namespace == "" || g.namespace == ns) && grants(g.rules, verb, group, res)
		})
	}
	for _, r := range generatedRules(t) {
		for _, group := range r.APIGroups {
			for _, res := range r.Resources {
				for _, verb := range r.Verbs {
					if !namespaced(t, group, res) {
						if !grantedIn("", verb, group, res) {
							t.Errorf("nothing grants the operator %s on cluster-scoped %s cluster-wide", verb, res)
						}
						continue
					}
					for _, ns := range watched {
						if !grantedIn(ns, verb, group, res) {
							t.Errorf("nothing grants the operator %s %s in watched namespace %s", verb, res, ns)
						}
					}
				}
			}
		}
	}
}

// clusterResourceRules are what the operator needs in the --cluster-resource-namespace with
// watched namespaces: read ClusterD365Identities' Secrets (update: a delegated identity's
// token cache), their ServiceAccounts' metadata, and, with workload identity, their tokens.
func clusterResourceRules(workloadIdentity bool) []rbacv1.PolicyRule {
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch", "update"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "watch"}},
	}
	if workloadIdentity {
		rules = append(rules, rbacv1.PolicyRule{
			APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}})
	}
	return rules
}

// assertClusterResourceFlag checks that every Deployment (each shard's) passes
// --cluster-resource-namespace=value.
func assertClusterResourceFlag(t *testing.T, objs []*unstructured.Unstructured, value string) {
	t.Helper()
	for _, u := range find(objs, "Deployment") {
		var d appsv1.Deployment
		convert(t, u, &d)
		if args := d.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--cluster-resource-namespace="+value) {
			t.Errorf("%s does not pass --cluster-resource-namespace=%s: %v", d.Name, value, args)
		}
	}
}

// isClusterResourcesGrant tells the grant of the --cluster-resource-namespace (a Role that
// reads Secrets but no connections) from the watched namespaces' grants.
func isClusterResourcesGrant(g grant) bool {
	return g.namespace != "" && g.roleKind == "Role" && grants(g.rules, "get", "", "secrets") &&
		!grants(g.rules, "get", "d365.operators.dev", "d365connections")
}

// assertClusterResources checks that, with watched namespaces, the operator gets exactly
// clusterResourceRules in the namespace that holds the identities' Secrets.
func assertClusterResources(t *testing.T, objs []*unstructured.Unstructured, namespace string, workloadIdentity bool) {
	t.Helper()
	found := false
	for _, g := range operatorGrants(t, objs) {
		if g.namespace != namespace || !isClusterResourcesGrant(g) {
			continue
		}
		found = true
		if want := clusterResourceRules(workloadIdentity); !reflect.DeepEqual(g.rules, want) {
			t.Errorf("%s grants %+v in the cluster resource namespace, want %+v", g.binding, g.rules, want)
		}
	}
	if !found {
		t.Errorf("no Role grants the operator the identities' Secrets in %s", namespace)
	}
}

// assertAllCRDs checks that the manifests install every CRD of config/crd/bases: the
// operator's informers need each kind (a missing one stops every controller).
func assertAllCRDs(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	files, err := fs.Glob(os.DirFS(env.RepoRoot), "config/crd/bases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	want := make([]string, 0, len(files))
	for _, f := range files {
		// config/crd/bases/<group>_<plural>.yaml holds CRD <plural>.<group>.
		group, plural, _ := strings.Cut(strings.TrimSuffix(path.Base(f), ".yaml"), "_")
		want = append(want, plural+"."+group)
	}
	crds := find(objs, "CustomResourceDefinition")
	got := make([]string, 0, len(crds))
	for _, o := range crds {
		got = append(got, o.GetName())
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("the manifests install CRDs %v, want %v (config/crd/bases)", got, want)
	}
}
