package install_test

import (
	"context"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// assertHardened checks the operator's pod against the "restricted" Pod Security Standard
// and the project's own bar: non-root, read-only root filesystem, seccomp RuntimeDefault,
// every capability dropped, no privilege escalation, resource limits.
func assertHardened(t *testing.T, u *unstructured.Unstructured) {
	t.Helper()
	var d appsv1.Deployment
	convert(t, u, &d)
	pod := d.Spec.Template.Spec
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("the pod does not set runAsNonRoot: true")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("the pod does not use the RuntimeDefault seccomp profile")
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("container %s has no securityContext", c.Name)
			continue
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("container %s: root filesystem is writable", c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("container %s: privilege escalation is allowed", c.Name)
		case sc.Privileged != nil && *sc.Privileged:
			t.Errorf("container %s is privileged", c.Name)
		case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL"):
			t.Errorf("container %s does not drop ALL capabilities", c.Name)
		}
		if c.Resources.Limits.Memory().IsZero() {
			t.Errorf("container %s has no memory limit", c.Name)
		}
	}
}

// assertKnownFlags checks that every --flag the manifests pass exists in the operator built
// from this tree: an unknown flag would crash-loop the pod at start.
func assertKnownFlags(t *testing.T, u *unstructured.Unstructured) {
	t.Helper()
	var d appsv1.Deployment
	convert(t, u, &d)
	known := operatorFlags(t)
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, arg := range c.Args {
			if !strings.HasPrefix(arg, "-") {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
			if !known[name] {
				t.Errorf("container %s passes %q, which the operator does not know", c.Name, arg)
			}
		}
	}
}

var (
	flagsOnce  sync.Once
	flagsKnown map[string]bool
	flagsErr   error
	flagLine   = regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`)
)

// operatorFlags returns the flags of `d365-operator --help`, built from this tree once.
func operatorFlags(t *testing.T) map[string]bool {
	t.Helper()
	flagsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "run", "./cmd", "--help")
		cmd.Dir = env.RepoRoot
		out, err := cmd.CombinedOutput()
		if err != nil {
			flagsErr = err
			return
		}
		flagsKnown = map[string]bool{}
		for _, m := range flagLine.FindAllStringSubmatch(string(out), -1) {
			flagsKnown[m[1]] = true
		}
	})
	if flagsErr != nil || len(flagsKnown) == 0 {
		t.Fatalf("go run ./cmd --help: %v (%d flags found)", flagsErr, len(flagsKnown))
	}
	return flagsKnown
}

// assertOperatorRules checks that the operator's ServiceAccount is bound to exactly the rules
// controller-gen generated into config/rbac/role.yaml: through one ClusterRole, or, with
// watched namespaces, split by scope (assertScopedGrants).
func assertOperatorRules(t *testing.T, objs []*unstructured.Unstructured, watched []string) {
	t.Helper()
	if len(watched) > 0 {
		assertScopedGrants(t, objs, watched)
		return
	}
	generated := generatedRules(t)
	var d appsv1.Deployment
	convert(t, only(t, objs, "Deployment"), &d)
	sa := d.Spec.Template.Spec.ServiceAccountName

	// The ClusterRoles bound to the operator's ServiceAccount cluster-wide.
	bound := map[string]bool{}
	for _, u := range find(objs, "ClusterRoleBinding") {
		var b rbacv1.ClusterRoleBinding
		convert(t, u, &b)
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Name == sa && s.Namespace == d.Namespace {
				bound[b.RoleRef.Name] = true
			}
		}
	}
	var withGenerated []string
	for _, u := range find(objs, "ClusterRole") {
		var r rbacv1.ClusterRole
		convert(t, u, &r)
		if bound[r.Name] && reflect.DeepEqual(r.Rules, generated) {
			withGenerated = append(withGenerated, r.Name)
		}
	}
	if len(withGenerated) != 1 {
		t.Errorf("ServiceAccount %s/%s holds the rules of config/rbac/role.yaml through ClusterRoles %v; want exactly one",
			d.Namespace, sa, withGenerated)
	}
}

func convert(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("converting %s %s: %v", u.GetKind(), u.GetName(), err)
	}
}
