package install_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/d365-operator/d365-operator/internal/entra"
)

// grant is what one binding gives the operator's ServiceAccount: roleKind is the bound
// role's kind, namespace is "" for a ClusterRoleBinding (cluster-wide).
type grant struct {
	binding, roleKind, namespace string
	rules                        []rbacv1.PolicyRule
}

// operatorGrants resolves every binding of the rendered manifests whose subject is the
// operator's ServiceAccount (the Deployment's) to the rules of the rendered role it names.
func operatorGrants(t *testing.T, objs []*unstructured.Unstructured) []grant {
	t.Helper()
	var d appsv1.Deployment
	convert(t, only(t, objs, "Deployment"), &d)
	sa := d.Spec.Template.Spec.ServiceAccountName
	roles := map[string][]rbacv1.PolicyRule{} // "Kind namespace/name"
	for _, kind := range []string{"ClusterRole", "Role"} {
		for _, u := range find(objs, kind) {
			var r rbacv1.ClusterRole // a Role has the same shape
			convert(t, u, &r)
			roles[kind+" "+r.Namespace+"/"+r.Name] = r.Rules
		}
	}
	var out []grant
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		for _, u := range find(objs, kind) {
			var b rbacv1.RoleBinding // a ClusterRoleBinding has the same shape
			convert(t, u, &b)
			if !slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
				return s.Kind == rbacv1.ServiceAccountKind && s.Name == sa && s.Namespace == d.Namespace
			}) {
				continue
			}
			roleNS := ""
			if b.RoleRef.Kind == "Role" {
				roleNS = b.Namespace
			}
			rules, ok := roles[b.RoleRef.Kind+" "+roleNS+"/"+b.RoleRef.Name]
			if !ok {
				t.Errorf("%s %s binds %s %s, which the manifests do not hold", kind, objectName(u), b.RoleRef.Kind, b.RoleRef.Name)
			}
			out = append(out, grant{
				binding: kind + " " + objectName(u), roleKind: b.RoleRef.Kind, namespace: b.Namespace, rules: rules,
			})
		}
	}
	return out
}

// grants reports whether rules allow verb on resource (group "" or d365.operators.dev...).
// A rule restricted to named objects (the identity hash key Secret) grants nothing broad.
func grants(rules []rbacv1.PolicyRule, verb, group, resource string) bool {
	return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
		return len(r.ResourceNames) == 0 && (slices.Contains(r.Verbs, verb) || slices.Contains(r.Verbs, "*")) &&
			(slices.Contains(r.APIGroups, group) || slices.Contains(r.APIGroups, "*")) &&
			(slices.Contains(r.Resources, resource) || slices.Contains(r.Resources, "*"))
	})
}

// assertNoTokenRequests checks that nothing bound to the operator creates ServiceAccount
// tokens, and that the rest of the generated rules are still there.
func assertNoTokenRequests(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var secrets bool
	for _, g := range operatorGrants(t, objs) {
		if grants(g.rules, "create", "", "serviceaccounts/token") {
			t.Errorf("%s still grants create on serviceaccounts/token with workload identity off", g.binding)
		}
		secrets = secrets || grants(g.rules, "get", "", "secrets")
	}
	if !secrets {
		t.Error("the operator lost its other rules (get secrets) with workload identity off")
	}
	for _, o := range objs {
		if strings.Contains(o.GetKind(), "ValidatingAdmissionPolicy") {
			t.Errorf("%s %s rendered although the operator requests no token", o.GetKind(), o.GetName())
		}
	}
}

// assertOnlyIn checks that the operator reads Secrets and connections in the watched
// namespaces only: no cluster-wide binding grants anything on them, each watched namespace
// has a binding that does, through a role of roleKind. The one exception is the
// --cluster-resource-namespace, platform, where a Role grants the ClusterD365Identities'
// Secrets and ServiceAccounts only (assertClusterResources).
func assertOnlyIn(t *testing.T, objs []*unstructured.Unstructured, watched []string, roleKind, platform string) {
	t.Helper()
	sensitive := [][2]string{{"", "secrets"}, {"", "serviceaccounts/token"}, {"d365.operators.dev", "d365connections"}}
	got := map[string]bool{}
	for _, g := range operatorGrants(t, objs) {
		for _, s := range sensitive {
			for _, verb := range []string{"get", "list", "watch", "create", "update"} {
				if g.namespace == "" && grants(g.rules, verb, s[0], s[1]) {
					t.Errorf("%s grants %s %s cluster-wide with watched namespaces %v", g.binding, verb, s[1], watched)
				}
			}
		}
		if g.namespace == platform && isClusterResourcesGrant(g) {
			continue
		}
		if g.namespace != "" && grants(g.rules, "get", "", "secrets") {
			if g.roleKind != roleKind {
				t.Errorf("%s binds a %s, want a %s", g.binding, g.roleKind, roleKind)
			}
			got[g.namespace] = true
		}
	}
	for _, ns := range watched {
		if !got[ns] {
			t.Errorf("no binding grants the operator its rules in watched namespace %s", ns)
		}
		delete(got, ns)
	}
	if len(got) > 0 {
		t.Errorf("the operator reads Secrets in unwatched namespaces %v", got)
	}
}

func TestHelmChartWithoutWorkloadIdentity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		watched []string
		set     []string
	}{
		{name: "cluster-wide", set: []string{"workloadIdentity.enabled=false"}},
		{name: "watched namespaces", watched: []string{"nowi-a", "nowi-b"},
			set: []string{"workloadIdentity.enabled=false", "watchNamespaces={nowi-a,nowi-b}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			createNamespaces(t, append([]string{"nowi-ops"}, tc.watched...)...)
			objs := decode(t, helmTemplate(t, "nowi-ops", tc.set...))
			serverDryRun(t, objs)
			assertNoTokenRequests(t, objs)
			if len(tc.watched) > 0 {
				assertClusterResources(t, objs, "nowi-ops", false)
			}
		})
	}
	// The default keeps the rule, and the policy that narrows it.
	objs := decode(t, helmTemplate(t, "nowi-ops"))
	if !slices.ContainsFunc(operatorGrants(t, objs), func(g grant) bool {
		return grants(g.rules, "create", "", "serviceaccounts/token")
	}) {
		t.Error("the default install cannot mint ServiceAccount tokens for workload identity")
	}
	only(t, objs, "ValidatingAdmissionPolicy")
	only(t, objs, "ValidatingAdmissionPolicyBinding")
}

func TestHelmChartWatchNamespacesRendersRolesOnly(t *testing.T) {
	watched := []string{"roles-a", "roles-b"}
	createNamespaces(t, append([]string{"roles-ops"}, watched...)...)
	objs := decode(t, helmTemplate(t, "roles-ops", "watchNamespaces={roles-a,roles-b}"))
	serverDryRun(t, objs)
	assertOnlyIn(t, objs, watched, "Role", "roles-ops")
	assertScopedGrants(t, objs, watched)
	// clusterResourceNamespace defaults to the release namespace.
	assertClusterResourceFlag(t, objs, "roles-ops")
	assertClusterResources(t, objs, "roles-ops", true)
}

func TestKustomizeWithoutWorkloadIdentity(t *testing.T) {
	for _, dir := range []string{"no-workload-identity", "no-workload-identity-watched"} {
		t.Run(dir, func(t *testing.T) {
			objs := decode(t, command(t, tool(t, "kustomize"), "build", "test/install/testdata/"+dir))
			for _, ns := range find(objs, "Namespace") {
				createNamespaces(t, ns.GetName())
			}
			createNamespaces(t, "team-a", "team-b") // config/watch-namespaces' RoleBindings
			serverDryRun(t, objs)
			assertNoTokenRequests(t, objs)
		})
	}
}

// config/watch-namespaces names team-a and team-b, as an example to copy.
func TestKustomizeWatchNamespaces(t *testing.T) {
	objs := decode(t, command(t, tool(t, "kustomize"), "build", "config/watch-namespaces"))
	watched := []string{"team-a", "team-b"}
	for _, ns := range find(objs, "Namespace") {
		createNamespaces(t, ns.GetName())
	}
	createNamespaces(t, watched...)
	serverDryRun(t, objs)
	assertOnlyIn(t, objs, watched, "ClusterRole", "d365-operator-system")
	assertScopedGrants(t, objs, watched)
	assertClusterResources(t, objs, "d365-operator-system", true)
	assertKnownFlags(t, only(t, objs, "Deployment"))
	var d appsv1.Deployment
	convert(t, only(t, objs, "Deployment"), &d)
	if !slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--watch-namespaces="+strings.Join(watched, ",")) {
		t.Errorf("the operator is not told to watch %v: %v", watched, d.Spec.Template.Spec.Containers[0].Args)
	}
}

// The chart's ValidatingAdmissionPolicy, applied to a real API server, lets the operator's
// ServiceAccount (with the generated role) request ServiceAccount tokens only for Entra ID's
// federation audience and for at most an hour; other users are not affected.
func TestHelmChartTokenRequestPolicy(t *testing.T) {
	ctx := context.Background()
	const ns, team = "vap-ops", "vap-team"
	createNamespaces(t, ns, team)
	objs := decode(t, helmTemplate(t, ns))
	for _, kind := range []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		o := only(t, objs, kind)
		if err := env.Client.Create(ctx, o.DeepCopy()); err != nil {
			t.Fatalf("creating the chart's %s: %v", kind, err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx, o.DeepCopy()) })
	}
	var d appsv1.Deployment
	convert(t, only(t, objs, "Deployment"), &d)
	kubeconfig, err := env.OperatorServiceAccountKubeconfig(ctx, ns, d.Spec.Template.Spec.ServiceAccountName, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	operator := clientset(t, cfg)
	admin := clientset(t, env.Config)
	workload := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "crm-client"}}
	if err := env.Client.Create(ctx, workload); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	request := func(cs *kubernetes.Clientset, audiences []string, seconds int64) error {
		tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences: audiences, ExpirationSeconds: new(seconds)}}
		got, err := cs.CoreV1().ServiceAccounts(team).CreateToken(ctx, workload.Name, tr, metav1.CreateOptions{})
		if err == nil && got.Status.Token == "" {
			t.Error("the API server admitted a TokenRequest but returned no token")
		}
		return err
	}
	federation := []string{entra.FederatedAudience}

	// A new policy takes effect once the API server has loaded it: wait for the first refusal.
	deadline := time.Now().Add(30 * time.Second)
	for request(operator, []string{"https://kubernetes.default.svc"}, 600) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the operator still mints tokens for the API server's audience 30s after the policy was created: " +
				"is the ValidatingAdmissionPolicy admission plugin enabled?")
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, tc := range []struct {
		name      string
		audiences []string
		seconds   int64
		want      string // "" admitted, otherwise in the refusal
	}{
		{name: "the operator's own request", audiences: federation, seconds: 600},
		{name: "an hour", audiences: federation, seconds: 3600},
		{name: "the API server's audience", audiences: []string{"https://kubernetes.default.svc"}, seconds: 600,
			want: "only for audience api://AzureADTokenExchange"},
		{name: "no audience (the API server's)", seconds: 600, want: "only for audience"},
		{name: "a second audience", audiences: append([]string{"vault"}, federation...), seconds: 600,
			want: "only for audience"},
		{name: "two hours", audiences: federation, seconds: 7200, want: "at most 3600 seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := request(operator, tc.audiences, tc.seconds)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("admitted, want a refusal saying %q", tc.want)
			case tc.want != "" && (!apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("refused with %v, want Forbidden saying %q", err, tc.want)
			}
		})
	}
	// The policy binds the operator only: an administrator's request is untouched.
	if err := request(admin, []string{"https://kubernetes.default.svc"}, 7200); err != nil {
		t.Errorf("the policy refuses another user's TokenRequest: %v", err)
	}
}

func clientset(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
