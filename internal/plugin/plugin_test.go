package plugin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/operatortest"
	"github.com/d365-operator/d365-operator/internal/simulator"
	"github.com/d365-operator/d365-operator/internal/testenv"
)

// The plugin's commands run end to end: the operator's binary against a control plane and
// the simulator, the plugin as a user whose RBAC allows connections and Secrets in one
// namespace only.

var (
	env *testenv.Env
	w   *world
)

// world is what every test shares: the simulator, the running operator, a Ready
// connection and the user's kubeconfig.
type world struct {
	sim        *simulator.Server
	op         *operatortest.Operator
	dir        string
	ns         string
	kubeconfig string
}

// TestMain starts the control plane, the simulator and the operator, runs the tests, and
// stops the operator before the control plane (whose API server waits for open watches).
// A control plane or an operator that cannot start fails the package: it never skips.
func TestMain(m *testing.M) {
	logf.SetLogger(logr.Discard())
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "kubectl-d365 tests: %v\n", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "kubectl-d365 tests: stopping the control plane: %v\n", err)
		}
	}()
	w, err = startWorld()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubectl-d365 tests: %v\n", err)
		return 1
	}
	defer w.sim.Close()
	defer func() {
		if err := w.op.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "kubectl-d365 tests: %v\n", err)
		}
	}()
	return m.Run()
}

func startWorld() (*world, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "kubectl-d365-test-")
	if err != nil {
		return nil, err
	}
	sim, err := operatortest.StartSimulator(0)
	if err != nil {
		return nil, err
	}
	op, err := operatortest.Start(ctx, env, sim, dir, "plugin-test-operator")
	if err != nil {
		return nil, err
	}
	ww := &world{sim: sim, op: op, dir: dir, ns: "team-a"}
	secret, conn := operatortest.DemoObjects(ww.ns, "sales")
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ww.ns}}, secret, conn,
		// The user may read connections and Secrets and annotate connections, in team-a only.
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ww.ns, Name: "d365-user"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"d365connections"}, Verbs: []string{"get", "list", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
		}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ww.ns, Name: "d365-user"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "d365-user"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "dana"}}},
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			return nil, err
		}
	}
	raw, err := env.Kubeconfig("dana")
	if err != nil {
		return nil, err
	}
	ww.kubeconfig = filepath.Join(dir, "dana.kubeconfig")
	if err := os.WriteFile(ww.kubeconfig, raw, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), sim.CACertPEM(), 0o600); err != nil {
		return nil, err
	}
	for {
		var got v1alpha1.D365Connection
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(conn), &got); err != nil {
			return nil, err
		}
		if apimeta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady) {
			return ww, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the demo connection did not become Ready: %+v (operator log %s)", got.Status.Conditions, op.LogPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// plugin runs kubectl-d365 as the user dana and returns its exit code and output.
func plugin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(append([]string{"--kubeconfig", w.kubeconfig}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func sales(t *testing.T) *v1alpha1.D365Connection {
	t.Helper()
	var c v1alpha1.D365Connection
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "sales"}, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// outputSecretValues are the values the plugin must never print.
func outputSecretValues(t *testing.T) []string {
	t.Helper()
	var s corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "sales-token"}, &s); err != nil {
		t.Fatal(err)
	}
	token := string(s.Data[v1alpha1.SecretKeyAccessToken])
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("the output Secret holds no JWT")
	}
	return []string{token, parts[2], simulator.DemoClientSecret}
}

func assertNoSecret(t *testing.T, out string) {
	t.Helper()
	for _, v := range outputSecretValues(t) {
		if v != "" && strings.Contains(out, v) {
			t.Fatal("the plugin printed a token, its signature or the client secret")
		}
	}
}

func TestStatus(t *testing.T) {
	code, out, errOut := plugin(t, "status", "-n", w.ns)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Log("\n" + out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one row:\n%s", out)
	}
	for _, col := range []string{"NAME", "READY", "REASON", "EXPIRES", "NEXT REFRESH", "IDENTITY", "SHARD"} {
		if !strings.Contains(lines[0], col) {
			t.Errorf("header %q lacks %s", lines[0], col)
		}
	}
	for _, cell := range []string{"sales", "True", "in ", "clientSecret d365-app/client-id", "default"} {
		if !strings.Contains(lines[1], cell) {
			t.Errorf("row %q lacks %q", lines[1], cell)
		}
	}
	code, one, _ := plugin(t, "status", "sales", "-n", w.ns)
	if code != 0 || !strings.Contains(one, "sales") {
		t.Errorf("status sales: exit %d\n%s", code, one)
	}
	// dana may not list connections cluster-wide: RBAC is hers, and the error says so.
	code, _, errOut = plugin(t, "status", "-A")
	if code == 0 || !strings.Contains(errOut, "forbidden") {
		t.Errorf("status -A as a namespaced user: exit %d, %q; want a forbidden error", code, errOut)
	}
	code, _, errOut = plugin(t, "status", "nope", "-n", w.ns)
	if code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("status of a missing connection: exit %d, %q", code, errOut)
	}
}

func TestStatusAllNamespacesShowsShards(t *testing.T) {
	conns := []v1alpha1.D365Connection{*sales(t), *sales(t)}
	conns[1].Namespace, conns[1].Labels = "team-b", map[string]string{v1alpha1.LabelShard: "2"}
	var out bytes.Buffer
	printStatus(&out, conns, true, time.Now())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.HasPrefix(lines[0], "NAMESPACE") || !strings.HasSuffix(strings.TrimSpace(lines[2]), "2") ||
		!strings.HasSuffix(strings.TrimSpace(lines[1]), "default") {
		t.Errorf("-A table:\n%s", out.String())
	}
}

func TestRefreshWaitsForTheNewToken(t *testing.T) {
	digest := func() string {
		var s corev1.Secret
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "sales-token"}, &s); err != nil {
			t.Fatal(err)
		}
		return s.Annotations[v1alpha1.AnnotationTokenDigest]
	}
	before := digest()
	code, out, errOut := plugin(t, "refresh", "sales", "-n", w.ns, "--timeout", "1m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	after := sales(t)
	if after.Status.LastHandledRequestedAt == "" || after.Status.LastHandledRequestedAt != after.Annotations[v1alpha1.AnnotationRequestedAt] {
		t.Errorf("status.lastHandledRequestedAt %q, annotation %q", after.Status.LastHandledRequestedAt, after.Annotations[v1alpha1.AnnotationRequestedAt])
	}
	if now := digest(); now == before || now == "" {
		t.Error("the output Secret holds the same token after the refresh")
	}
	if !strings.Contains(out, "d365connection/sales refreshed: token expires in ") {
		t.Errorf("output %q", out)
	}
	assertNoSecret(t, out+errOut)
}

func TestInspectShowsClaimsOnly(t *testing.T) {
	code, out, errOut := plugin(t, "inspect", "sales", "-n", w.ns)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Log("\n" + out)
	for _, want := range []string{"aud:", "https://" + simulator.DemoEnvironmentHost, "iss:", "tid:", simulator.DemoTenantID,
		"appid:", simulator.DemoClientID, "oid:", "iat:", "exp:", "Z  (in "} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q:\n%s", want, out)
		}
	}
	assertNoSecret(t, out+errOut)
}

func TestWhoAmIFromTheUsersMachine(t *testing.T) {
	args := append([]string{"whoami", "sales", "-n", w.ns, "--ca-file", filepath.Join(w.dir, "ca.pem")},
		operatortest.HostAliasFlags(w.sim)...)
	requests := w.sim.CountRequests(func(r simulator.Request) bool { return strings.Contains(r.Path, "WhoAmI") })
	code, out, errOut := plugin(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Log("\n" + out)
	conn := sales(t)
	if conn.Status.Identity == nil || !strings.Contains(out, "UserId:          "+conn.Status.Identity.UserID) {
		t.Errorf("whoami printed %q; the operator's WhoAmI found %+v", out, conn.Status.Identity)
	}
	if n := w.sim.CountRequests(func(r simulator.Request) bool { return strings.Contains(r.Path, "WhoAmI") }); n != requests+1 {
		t.Errorf("%d WhoAmI requests reached Dataverse, want 1", n-requests)
	}
	assertNoSecret(t, out+errOut)
}

// Every command has --help; completion scripts are generated; login is d365-operator login.
func TestHelpAndCompletion(t *testing.T) {
	for _, cmd := range []string{"status", "refresh", "inspect", "whoami"} {
		code, out, _ := plugin(t, cmd, "--help")
		if code != 0 || !strings.Contains(out, "Usage:") || !strings.Contains(out, "kubectl d365 "+cmd) {
			t.Errorf("%s --help: exit %d\n%s", cmd, code, out)
		}
	}
	code, out, errOut := plugin(t, "login", "--help")
	if code != 0 || !strings.Contains(out+errOut, "-environment-url") {
		t.Errorf("login --help: exit %d\n%s%s", code, out, errOut)
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, _ := plugin(t, "completion", shell)
		if code != 0 || len(out) < 100 {
			t.Errorf("completion %s: exit %d, %d bytes", shell, code, len(out))
		}
	}
	// Completing NAME lists the namespace's connections (cobra's hidden __complete command).
	code, out, _ = plugin(t, "__complete", "status", "-n", w.ns, "")
	if code != 0 || !strings.Contains(out, "sales") {
		t.Errorf("completing status NAME: exit %d\n%s", code, out)
	}
}
