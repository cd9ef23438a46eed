package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// assetsScript prints the folder holding kube-apiserver and etcd, building them first if
// this machine has not yet.
const assetsScript = "hack/envtest-assets.sh"

// RepoRoot walks up from the working directory (a test's package directory, or wherever
// the demo or the benchmark was started inside the repository) to go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testenv: working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testenv: no go.mod above the working directory; run from inside the repository")
		}
		dir = parent
	}
}

// ensureAssets sets KUBEBUILDER_ASSETS from hack/envtest-assets.sh unless it is already set,
// so that `go test` works outside make. Setting it in the process environment also lets later
// Start calls in the same test binary skip the script.
func ensureAssets(root string) error {
	if os.Getenv("KUBEBUILDER_ASSETS") != "" {
		return nil
	}
	// go test runs packages in parallel; without the lock, each package's TestMain would build
	// kube-apiserver at the same time on a cold machine.
	unlock, err := lockAssets()
	if err != nil {
		return err
	}
	defer unlock()

	script := filepath.Join(root, assetsScript)
	var stdout bytes.Buffer
	cmd := exec.Command(script) //nolint:gosec // G204: the repository's own script, found from go.mod
	cmd.Dir = root
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr // the build's progress, a few minutes the first time
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testenv: %s could not provide the control plane binaries (set KUBEBUILDER_ASSETS to a folder with kube-apiserver and etcd to skip it): %w", assetsScript, err)
	}
	dir := strings.TrimSpace(stdout.String())
	if dir == "" {
		return fmt.Errorf("testenv: %s printed no folder", assetsScript)
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return fmt.Errorf("testenv: %s is missing from %s: %w", bin, dir, err)
		}
	}
	return os.Setenv("KUBEBUILDER_ASSETS", dir)
}
