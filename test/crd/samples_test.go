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

// sampleKinds are the auth kinds config/samples holds one connection of each, and the
// connection that signs in through the ClusterD365Identity sample instead.
var sampleKinds = []string{
	"clientsecret", "clientcertificate", "workloadidentity", "usernamepassword", "delegated", "identityref",
}

// identitySample is the one cluster-scoped sample: a ClusterD365Identity, which
// `kubectl apply -n` creates cluster-wide (so the second apply finds it unchanged).
const identitySample = "clusterd365identity.d365.operators.dev/sales-app"

// The samples are what users copy first: they must pass the CRD's validation as they are,
// applied both through their kustomization and file by file. (`kubectl apply -f` on the
// directory itself also reads kustomization.yaml, which is no Kubernetes object.)
func TestSamplesApplyWithKubectl(t *testing.T) {
	samples := filepath.Join(env.RepoRoot, "config", "samples")
	files, err := filepath.Glob(filepath.Join(samples, "d365_*.yaml"))
	if err != nil || len(files) != len(sampleKinds)+1 {
		t.Fatalf("want %d sample files in %s (a connection per kind and the identity), found %v (%v)",
			len(sampleKinds)+1, samples, files, err)
	}
	byKustomize := newNamespace(t, "samples-k")
	byFile := newNamespace(t, "samples-f")
	t.Cleanup(func() { kubectl(t, "delete", identitySample, "--ignore-not-found") })

	applied := map[string]string{
		byKustomize: kubectl(t, "apply", "-n", byKustomize, "-k", samples),
		byFile:      kubectl(t, append([]string{"apply", "-n", byFile}, fileArgs(files)...)...),
	}
	for ns, out := range applied {
		for _, kind := range sampleKinds {
			want := "d365connection.d365.operators.dev/d365connection-" + kind + " created"
			if !strings.Contains(out, want) {
				t.Errorf("kubectl apply in %s: output lacks %q:\n%s", ns, want, out)
			}
		}
		if !strings.Contains(out, identitySample+" ") {
			t.Errorf("kubectl apply in %s: output lacks %s:\n%s", ns, identitySample, out)
		}
	}

	// kubectl get shows the printer columns: Ready, Environment, Expires and Age.
	out := kubectl(t, "get", "d365c", "-A")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	got := strings.Join(strings.Fields(lines[0]), " ")
	if want := "NAMESPACE NAME READY ENVIRONMENT EXPIRES AGE"; got != want {
		t.Errorf("kubectl get d365c -A columns = %q, want %q\n%s", got, want, out)
	}
	for ns := range applied {
		rows := 0
		for _, line := range lines[1:] {
			if strings.HasPrefix(line, ns+" ") {
				rows++
				if !strings.Contains(line, "https://contoso.crm.dynamics.com") {
					t.Errorf("row lacks the environment URL: %q", line)
				}
			}
		}
		if rows != len(sampleKinds) {
			t.Errorf("kubectl get d365c -A shows %d connections in %s, want %d:\n%s", rows, ns, len(sampleKinds), out)
		}
	}

	// kubectl get cd365i shows Ready, the allowed namespaces (short form), the number of
	// connections using it, and Age; the category d365 lists it with the connections.
	out = kubectl(t, "get", "cd365i")
	got = strings.Join(strings.Fields(strings.SplitN(out, "\n", 2)[0]), " ")
	if want := "NAME READY ALLOWED CONNECTIONS AGE"; got != want {
		t.Errorf("kubectl get cd365i columns = %q, want %q\n%s", got, want, out)
	}
	if out := kubectl(t, "get", "d365", "-A", "-o", "name"); !strings.Contains(out, identitySample+"\n") {
		t.Errorf("kubectl get d365 (the category) does not list the identity:\n%s", out)
	}
}

// fileArgs turns files into kubectl's repeated -f flags.
func fileArgs(files []string) []string {
	args := make([]string, 0, 2*len(files))
	for _, f := range files {
		args = append(args, "-f", f)
	}
	return args
}
