//go:build e2e

// End to end (the demo with the operator's binary): `make test` runs it with -tags e2e,
// `make test-fast` leaves it out.

package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// TestDemoReachesReady runs the demo as `DEMO_EXIT=1 make demo` does: a real control plane,
// the simulator and the operator as a separate process, until the samples are Ready,
// including one ClusterD365Identity serving two team namespaces with one token request. It
// then checks that neither the demo's output nor the operator's log contains the token.
// The second run grants the operator's rules as the Helm chart's watchNamespaces does: a
// Role in each watched namespace, a ClusterRole with the cluster-scoped rules only, and a
// Role for the identity's Secrets in the platform namespace: nothing else must be needed.
func TestDemoReachesReady(t *testing.T) {
	for _, tc := range []struct {
		name       string
		namespaced bool
	}{
		{name: "ClusterRole, all namespaces"},
		{name: "Roles, watched namespaces", namespaced: true},
	} {
		t.Run(tc.name, func(t *testing.T) { runDemo(t, tc.namespaced) })
	}
}

func runDemo(t *testing.T, namespaced bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	var out bytes.Buffer
	var tokens []string
	opts := Options{
		Dir:        t.TempDir(),
		Exit:       true,
		Timeout:    3 * time.Minute,
		Out:        &out,
		namespaced: namespaced,
		afterReady: func(ctx context.Context, c client.Client) error {
			var err error
			tokens, err = outputTokens(ctx, c)
			return err
		},
	}
	err := run(ctx, opts)
	// The output is safe to show only once it is known to hold no token.
	assertNoToken(t, "the demo's output", out.Bytes(), tokens)
	if err != nil {
		t.Fatalf("the demo failed: %v\noutput:\n%s\noperator log:\n%s", err, out.String(), operatorLog(t, opts.Dir, tokens))
	}
	// One per sample in the demo namespace, and one per team namespace using the identity.
	if want := len(demoSamples) + 2; len(tokens) != want {
		t.Fatalf("%d output Secrets held an access token after Ready, want %d", len(tokens), want)
	}

	text := out.String()
	wants := []string{
		"d365connection-clientsecret", "d365connection-clientcertificate", "d365connection-usernamepassword",
		"True", "https://contoso.crm.dynamics.com", "WhoAmISucceeded",
		"access_token", "web_api_url",
		// The platform-team layout: kubectl get cd365i, the two teams, one shared token.
		"$ kubectl get cd365i", "sales-app", "team-a/d365connection-identityref", "team-b/d365connection-identityref",
		"for 2 namespaces with 1 token request ", "Both output Secrets hold the same token",
		"reason IdentityNotAllowed",
	}
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
	// The operator's log is checked as well: it is the other place a token could leak.
	_ = operatorLog(t, opts.Dir, tokens)
	for _, f := range []string{"kubeconfig", "operator.kubeconfig"} {
		if _, err := os.Stat(filepath.Join(opts.Dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s (a client key for a stopped control plane) was left behind: %v", f, err)
		}
	}
}

// outputTokens reads the access token of every connection's output Secret, in the demo
// namespace and the team namespaces.
func outputTokens(ctx context.Context, c client.Client) ([]string, error) {
	var list v1alpha1.D365ConnectionList
	if err := c.List(ctx, &list); err != nil {
		return nil, err
	}
	var tokens []string
	for i := range list.Items {
		var s corev1.Secret
		key := types.NamespacedName{Namespace: list.Items[i].Namespace, Name: outputSecretName(&list.Items[i])}
		if err := c.Get(ctx, key, &s); err != nil {
			return nil, err
		}
		if tok := string(s.Data[v1alpha1.SecretKeyAccessToken]); tok != "" {
			tokens = append(tokens, tok)
		}
	}
	return tokens, nil
}

// operatorLog returns the operator's log, failing the test if it contains a token.
func operatorLog(t *testing.T, dir string, tokens []string) string {
	t.Helper()
	raw, err := fs.ReadFile(os.DirFS(dir), "operator.log")
	if err != nil {
		return "(" + err.Error() + ")"
	}
	assertNoToken(t, "the operator's log", raw, tokens)
	return string(raw)
}

// assertNoToken fails the test, without printing anything of the token, if text contains a
// token or its payload or signature alone (a JWT's header is the same for every token).
func assertNoToken(t *testing.T, what string, text []byte, tokens []string) {
	t.Helper()
	for _, tok := range tokens {
		parts := strings.Split(tok, ".")
		needles := []string{tok}
		if len(parts) == 3 {
			needles = append(needles, parts[1], parts[2])
		}
		for _, n := range needles {
			if len(n) >= 16 && bytes.Contains(text, []byte(n)) {
				t.Fatalf("%s contains an access token (or part of one)", what)
			}
		}
	}
}
