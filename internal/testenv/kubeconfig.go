package testenv

import (
	"fmt"
	"os"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// kubectlUser is the user the kubeconfig file signs in as; system:masters bypasses RBAC, as
// a cluster admin's kubeconfig would.
const kubectlUser = "testenv-kubectl"

// Kubeconfig provisions a user with the given groups (a client certificate signed by the
// control plane's CA) and returns a kubeconfig for it, e.g. to run kubectl as a user
// without system:masters to check RBAC.
func (e *Env) Kubeconfig(user string, groups ...string) ([]byte, error) {
	u, err := e.env.AddUser(envtest.User{Name: user, Groups: groups}, nil)
	if err != nil {
		return nil, fmt.Errorf("testenv: adding user %q: %w", user, err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return nil, fmt.Errorf("testenv: kubeconfig for user %q: %w", user, err)
	}
	return kc, nil
}

// WriteKubeconfig writes a system:masters kubeconfig to path, for kubectl --kubeconfig.
func (e *Env) WriteKubeconfig(path string) error {
	kc, err := e.Kubeconfig(kubectlUser, "system:masters")
	if err != nil {
		return err
	}
	// The file holds a client key: readable by its owner only.
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		return fmt.Errorf("testenv: writing kubeconfig: %w", err)
	}
	return nil
}
