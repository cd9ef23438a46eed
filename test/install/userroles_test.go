package install_test

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// The roles for people: with aggregateToDefaultRoles, the connection roles join the built-in
// admin, edit and view, but of the ClusterD365Identity roles only the viewer joins view. An
// identity decides which namespaces may sign in with a credential: a namespace admin must
// not get to write one through the built-in roles.
func TestHelmChartUserRolesKeepIdentitiesToThePlatformTeam(t *testing.T) {
	const ns = "userroles-ops"
	createNamespaces(t, ns)
	objs := decode(t, helmTemplate(t, ns, "rbac.aggregateToDefaultRoles=true"))
	serverDryRun(t, objs)
	want := map[string]string{ // role name suffix: the built-in role it joins ("" none)
		"d365connection-admin": "admin", "d365connection-editor": "edit", "d365connection-viewer": "view",
		"clusterd365identity-admin": "", "clusterd365identity-editor": "", "clusterd365identity-viewer": "view",
	}
	for _, u := range find(objs, "ClusterRole") {
		var r rbacv1.ClusterRole
		convert(t, u, &r)
		for suffix, joins := range want {
			if !strings.HasSuffix(r.Name, "-"+suffix) {
				continue
			}
			delete(want, suffix)
			var aggregated []string
			for label, v := range r.Labels {
				if name, ok := strings.CutPrefix(label, "rbac.authorization.k8s.io/aggregate-to-"); ok && v == "true" {
					aggregated = append(aggregated, name)
				}
			}
			switch {
			case joins == "" && len(aggregated) > 0:
				t.Errorf("%s joins the built-in %v: an identity's writers must be chosen on purpose", r.Name, aggregated)
			case joins != "" && (len(aggregated) != 1 || aggregated[0] != joins):
				t.Errorf("%s joins %v, want %s", r.Name, aggregated, joins)
			}
		}
	}
	for suffix := range want {
		t.Errorf("the chart renders no ClusterRole *-%s", suffix)
	}
}
