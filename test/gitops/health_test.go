// Package gitops_test checks what GitOps tools conclude from a D365Connection's status: the
// Argo CD health check in docs/argocd-health.lua (run with gopher-lua, the interpreter Argo
// CD embeds) and kstatus, which Flux and `kubectl wait`-style tooling use.
package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

// healthCase is an object as the operator leaves it, with what each tool must conclude.
type healthCase struct {
	name        string
	object      string
	argoStatus  string
	argoMessage string // a substring of Argo CD's message
	kstatus     status.Status
}

// cases are connections as the operator leaves them.
var cases = []healthCase{
	{
		// As the API server returns it: the CRD defaults status.observedGeneration to 0
		// (test/crd checks that), which kstatus reads as not yet observed.
		name:       "just created, not yet seen by the operator",
		object:     `{metadata: {generation: 1}, spec: {}, status: {observedGeneration: 0}}`,
		argoStatus: "Progressing", argoMessage: "Waiting",
		kstatus: status.InProgressStatus,
	},
	{
		name: "ready",
		object: `{metadata: {generation: 2}, status: {observedGeneration: 2, conditions: [
			{type: Ready, status: "True", reason: TokenIssued, message: "Token in Secret \"sales-token\" is valid"},
			{type: Authenticated, status: "True", reason: TokenIssued},
			{type: Healthy, status: "True", reason: WhoAmISucceeded}]}}`,
		argoStatus: "Healthy", argoMessage: "TokenIssued: Token in Secret",
		kstatus: status.CurrentStatus,
	},
	{
		name: "ready for an older generation",
		object: `{metadata: {generation: 3}, status: {observedGeneration: 2, conditions: [
			{type: Ready, status: "True", reason: TokenIssued}]}}`,
		argoStatus: "Progressing", argoMessage: "generation 3",
		kstatus: status.InProgressStatus,
	},
	{
		name: "stalled on a wrong secret",
		object: `{metadata: {generation: 1}, status: {observedGeneration: 1, conditions: [
			{type: Ready, status: "False", reason: InvalidClientSecret, message: "Put the client secret's VALUE"},
			{type: Stalled, status: "True", reason: InvalidClientSecret, message: "Put the client secret's VALUE"}]}}`,
		argoStatus: "Degraded", argoMessage: "InvalidClientSecret: Put the client secret's VALUE",
		kstatus: status.FailedStatus,
	},
	{
		name: "retrying after throttling",
		object: `{metadata: {generation: 1}, status: {observedGeneration: 1, conditions: [
			{type: Ready, status: "False", reason: Throttled, message: "retrying after 30s"},
			{type: Reconciling, status: "True", reason: Throttled, message: "Retrying: retrying after 30s"}]}}`,
		argoStatus: "Progressing", argoMessage: "Throttled",
		kstatus: status.InProgressStatus,
	},
	{
		name: "not ready, neither retrying nor stalled",
		object: `{metadata: {generation: 1}, status: {observedGeneration: 1, conditions: [
			{type: Ready, status: "False", reason: TargetSecretConflict,
			 message: "Secret sales-token is not owned by this connection"}]}}`,
		argoStatus: "Degraded", argoMessage: "TargetSecretConflict",
		// kstatus falls back to Ready: False reads as still in progress.
		kstatus: status.InProgressStatus,
	},
	{
		name: "suspended",
		object: `{metadata: {generation: 4}, spec: {suspend: true}, status: {observedGeneration: 4, conditions: [
			{type: Ready, status: "True", reason: TokenIssued}]}}`,
		argoStatus: "Suspended", argoMessage: "spec.suspend",
		kstatus: status.CurrentStatus,
	},
}

func TestConnectionHealth(t *testing.T) { judgeHealth(t, "D365Connection", cases) }

// judgeHealth checks what Argo CD (docs/argocd-health.lua, installed for both kinds) and
// kstatus conclude from each case of an object of kind.
func judgeHealth(t *testing.T, kind string, cases []healthCase) {
	t.Helper()
	script, err := os.ReadFile(filepath.Join("..", "..", "docs", "argocd-health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gotStatus, gotMessage := runHealthScript(t, string(script), object(t, tc.object))
			if gotStatus != tc.argoStatus || !strings.Contains(gotMessage, tc.argoMessage) {
				t.Errorf("Argo CD health = %s %q; want %s with a message containing %q",
					gotStatus, gotMessage, tc.argoStatus, tc.argoMessage)
			}
			u := &unstructured.Unstructured{Object: object(t, tc.object)}
			u.SetAPIVersion("d365.operators.dev/v1alpha1")
			u.SetKind(kind)
			res, err := status.Compute(u)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.kstatus {
				t.Errorf("kstatus = %s (%s); want %s", res.Status, res.Message, tc.kstatus)
			}
		})
	}
}

// runHealthScript runs an Argo CD health script the way Argo CD does: the object is the global
// obj, and the script returns a table with status and message.
func runHealthScript(t *testing.T, script string, obj map[string]any) (string, string) {
	t.Helper()
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	// Argo CD opens only these libraries for health scripts.
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		t.Fatalf("the health script fails: %v", err)
	}
	ret, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the health script returned %s, not a table", L.Get(-1).Type())
	}
	return lua.LVAsString(ret.RawGetString("status")), lua.LVAsString(ret.RawGetString("message"))
}

// toLua converts decoded JSON into Lua values, as Argo CD hands objects to health scripts.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, val := range v {
			t.RawSetString(k, toLua(L, val))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, val := range v {
			t.Append(toLua(L, val))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	default:
		return lua.LNil
	}
}

func object(t *testing.T, y string) map[string]any {
	t.Helper()
	// Decoded as the API machinery does (integers as int64), which kstatus relies on.
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatalf("test object: %v", err)
	}
	var m map[string]any
	if err := utiljson.Unmarshal(j, &m); err != nil {
		t.Fatalf("test object: %v", err)
	}
	return m
}
