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
// the simulator and the operator as a separate process, until the samples are Ready. It
// then checks that neither the demo's output nor the operator's log contains the token.
// The second run binds the operator's rules with a Role in the watched namespace only, as the
// Helm chart's watchNamespaces does: the operator must need nothing cluster-wide then.
func TestDemoReachesReady(t *testing.T) {
	for _, tc := range []struct {
		name       string
		namespaced bool
	}{
		{name: "ClusterRole, all namespaces"},
		{name: "Role, one watched namespace", namespaced: true},
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
	if len(tokens) != len(demoSamples) {
		t.Fatalf("%d output Secrets held an access token after Ready, want one per sample (%d)",
			len(tokens), len(demoSamples))
	}

	text := out.String()
	wants := []string{
		"d365connection-clientsecret", "d365connection-clientcertificate", "d365connection-usernamepassword",
		"True", "https://contoso.crm.dynamics.com", "WhoAmISucceeded",
		"access_token", "web_api_url",
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

// outputTokens reads the access token of every demo sample's output Secret.
func outputTokens(ctx context.Context, c client.Client) ([]string, error) {
	var list v1alpha1.D365ConnectionList
	if err := c.List(ctx, &list, client.InNamespace(demoNamespace)); err != nil {
		return nil, err
	}
	var tokens []string
	for i := range list.Items {
		var s corev1.Secret
		key := types.NamespacedName{Namespace: demoNamespace, Name: outputSecretName(&list.Items[i])}
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
