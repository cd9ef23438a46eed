// Command kubectl-d365 is the kubectl plugin of d365-operator (`kubectl d365 ...` once it is
// on the PATH): status, refresh, inspect, whoami and login, with the user's kubeconfig and
// RBAC. See docs/operations.md.
package main

import (
	"os"

	"github.com/d365-operator/d365-operator/internal/plugin"
)

func main() {
	os.Exit(plugin.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
