package monitoring_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const chartFiles = "charts/d365-operator/files"

// promtool is $PROMTOOL or bin/promtool (`make promtool`; `make test` builds it first). A
// missing binary fails: skipping would let broken alerts pass.
func promtool(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PROMTOOL")
	if path == "" {
		path = filepath.Join(env.RepoRoot, "bin", "promtool")
	}
	if _, err := os.Stat(path); err != nil { //nolint:gosec // a path make passes, in a test
		t.Fatalf("%s is missing (%v): run `make promtool` (`make test` builds it first)", path, err)
	}
	return path
}

func runPromtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, promtool(t), args...) //nolint:gosec // the promtool make built
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out.String())
	}
	return out.String()
}

// The rules file is valid and its unit tests pass: each alert fires on the series that
// should raise it (stuck or late refresh, not Ready for 10 minutes, failures by reason,
// WhoAmI failing, throttling) and stays quiet on healthy, suspended and short-lived ones.
func TestAlertRules(t *testing.T) {
	rules := filepath.Join(env.RepoRoot, chartFiles, "prometheus-rules.yaml")
	t.Log(runPromtool(t, env.RepoRoot, "check", "rules", rules))
	t.Log(runPromtool(t, filepath.Join(env.RepoRoot, "test", "monitoring", "testdata"),
		"test", "rules", "prometheus-rules_test.yaml"))
}
