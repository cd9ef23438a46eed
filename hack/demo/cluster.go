package main

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/d365-operator/d365-operator/internal/testenv"
)

// grantOperator gives operatorUser the generated rules (testenv.GeneratedRole) and writes a
// kubeconfig for that user: the operator runs with exactly the permissions an installation
// gives it, so a missing RBAC marker shows up as a forbidden error in the operator's log.
// Cluster-wide it is a ClusterRole, as `make deploy` and the chart's default install it.
// With watched namespaces it is what the chart's watchNamespaces installs: the namespaced
// rules as a Role in each watched namespace, the cluster-scoped ones as a ClusterRole, and
// in clusterResources (the identities' namespace) a Role for their Secrets and
// ServiceAccounts only. The namespaces must exist.
func grantOperator(ctx context.Context, env *testenv.Env, watched []string,
	clusterResources, kubeconfigPath string) error {
	role, err := env.OperatorRole()
	if err != nil {
		return err
	}
	subjects := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: operatorUser}}
	clusterRole := func(r *rbacv1.ClusterRole) []client.Object {
		return []client.Object{r, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: r.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r.Name},
			Subjects:   subjects,
		}}
	}
	namespacedRole := func(ns, name string, rules []rbacv1.PolicyRule) []client.Object {
		meta := metav1.ObjectMeta{Name: name, Namespace: ns}
		return []client.Object{&rbacv1.Role{ObjectMeta: meta, Rules: rules}, &rbacv1.RoleBinding{
			ObjectMeta: meta,
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects:   subjects,
		}}
	}
	var objs []client.Object
	if len(watched) == 0 {
		objs = clusterRole(role)
	} else {
		cluster, namespaced, err := splitByScope(env.Client.RESTMapper(), role.Rules)
		if err != nil {
			return fmt.Errorf("splitting the operator's rules by scope: %w", err)
		}
		objs = clusterRole(&rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: operatorUser + "-cluster-scoped"}, Rules: cluster})
		for _, ns := range watched {
			objs = append(objs, namespacedRole(ns, operatorUser, namespaced)...)
		}
		objs = append(objs, namespacedRole(clusterResources, operatorUser+"-cluster-resources", clusterResourceRules())...)
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			return fmt.Errorf("granting the operator its rules: creating %T %s: %w", o, o.GetName(), err)
		}
	}
	kc, err := env.Kubeconfig(operatorUser)
	if err != nil {
		return err
	}
	// The file holds the user's client key.
	if err := os.WriteFile(kubeconfigPath, kc, 0o600); err != nil {
		return fmt.Errorf("writing the operator's kubeconfig: %w", err)
	}
	return nil
}

// createNamespace creates a namespace unless it exists.
func createNamespace(ctx context.Context, c client.Client, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}
