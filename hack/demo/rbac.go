package main

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// splitByScope splits rules into those on cluster-scoped resources and those on namespaced
// ones, as the Helm chart's watchNamespaces install does: a Role grants nothing on a
// cluster-scoped resource (ClusterD365Identities, namespaces), so those need a ClusterRole.
// A subresource has its parent's scope.
func splitByScope(mapper meta.RESTMapper, rules []rbacv1.PolicyRule) (
	cluster, namespaced []rbacv1.PolicyRule, err error) {
	for _, r := range rules {
		var c, n []string
		for _, res := range r.Resources {
			isCluster, err := clusterScoped(mapper, r.APIGroups, res)
			if err != nil {
				return nil, nil, err
			}
			if isCluster {
				c = append(c, res)
			} else {
				n = append(n, res)
			}
		}
		if len(c) > 0 {
			cr := *r.DeepCopy()
			cr.Resources = c
			cluster = append(cluster, cr)
		}
		if len(n) > 0 {
			nr := *r.DeepCopy()
			nr.Resources = n
			namespaced = append(namespaced, nr)
		}
	}
	return cluster, namespaced, nil
}

// clusterScoped asks the API server's discovery (through the mapper) whether a resource of
// the rule's group is cluster-scoped.
func clusterScoped(mapper meta.RESTMapper, groups []string, resource string) (bool, error) {
	parent, _, _ := strings.Cut(resource, "/")
	for _, g := range groups {
		gvk, err := mapper.KindFor(schema.GroupVersionResource{Group: g, Resource: parent})
		if err != nil {
			return false, fmt.Errorf("looking up %s in group %q: %w", parent, g, err)
		}
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return false, fmt.Errorf("looking up %s: %w", gvk, err)
		}
		if m.Scope.Name() == meta.RESTScopeNameRoot {
			return true, nil
		}
	}
	return false, nil
}

// clusterResourceRules are the chart's rules in the --cluster-resource-namespace with
// watchNamespaces (templates/rbac-cluster-resources.yaml): ClusterD365Identities' Secrets
// and their ServiceAccounts, nothing else. The demo's namespaced run proves they suffice.
func clusterResourceRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: append(readVerbs(), "update")},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: readVerbs()},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}},
	}
}

// readVerbs are what an informer needs: get, list, watch.
func readVerbs() []string { return []string{"get", "list", "watch"} }
