package crd_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubectl runs kubectl against the test control plane and returns its standard output.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is not installed (not on PATH): this test applies config/samples with it, install kubectl: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, append([]string{"--kubeconfig", env.KubeconfigPath}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// The samples are what users copy first: they must pass the CRD's validation as they are.
func TestSamplesApplyWithKubectl(t *testing.T) {
	ns := newNamespace(t, "samples")
	samples := filepath.Join(env.RepoRoot, "config", "samples")

	out := kubectl(t, "apply", "-n", ns, "-k", samples)
	for _, kind := range []string{"clientsecret", "clientcertificate", "workloadidentity", "usernamepassword", "delegated"} {
		want := "d365connection.d365.operators.dev/d365connection-" + kind + " created"
		if !strings.Contains(out, want) {
			t.Errorf("kubectl apply output lacks %q:\n%s", want, out)
		}
	}

	// kubectl get shows the printer columns: Ready, Environment, Expires and Age.
	out = kubectl(t, "get", "d365c", "-A")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got, want := strings.Fields(lines[0]), []string{"NAMESPACE", "NAME", "READY", "ENVIRONMENT", "EXPIRES", "AGE"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("kubectl get d365c -A columns = %v, want %v\n%s", got, want, out)
	}
	rows := 0
	for _, line := range lines[1:] {
		if strings.HasPrefix(line, ns+" ") {
			rows++
			if !strings.Contains(line, "https://contoso.crm.dynamics.com") {
				t.Errorf("row lacks the environment URL: %q", line)
			}
		}
	}
	if rows != 5 {
		t.Errorf("kubectl get d365c -A shows %d connections in %s, want 5:\n%s", rows, ns, out)
	}
}
