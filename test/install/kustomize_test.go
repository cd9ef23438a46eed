package install_test

import "testing"

// config/default is what `make deploy` applies and `make build-installer` writes to
// dist/install.yaml: every object must pass a real API server's validation.
func TestKustomizeDefaultPassesServerDryRun(t *testing.T) {
	objs := decode(t, command(t, tool(t, "kustomize"), "build", "config/default"))
	for _, ns := range find(objs, "Namespace") {
		createNamespaces(t, ns.GetName())
	}
	serverDryRun(t, objs)

	deploy := only(t, objs, "Deployment")
	assertHardened(t, deploy)
	assertKnownFlags(t, deploy)
	assertOperatorRules(t, objs, nil)
	// The operator's own namespace, through the downward API.
	assertClusterResourceFlag(t, objs, "$(POD_NAMESPACE)")
	assertAllCRDs(t, objs)
}
