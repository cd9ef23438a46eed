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
// Cluster-wide it is a ClusterRole, as `make deploy` and the chart's default install it;
// with namespace set it is a Role in that namespace only, as the chart's watchNamespaces
// installs it.
func grantOperator(ctx context.Context, env *testenv.Env, namespace, kubeconfigPath string) error {
	role, err := env.OperatorRole()
	if err != nil {
		return err
	}
	subjects := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: operatorUser}}
	var objs []client.Object
	if namespace == "" {
		objs = []client.Object{role, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: operatorUser},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   subjects,
		}}
	} else {
		meta := metav1.ObjectMeta{Name: operatorUser, Namespace: namespace}
		objs = []client.Object{
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
			&rbacv1.Role{ObjectMeta: meta, Rules: role.Rules},
			&rbacv1.RoleBinding{
				ObjectMeta: meta,
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: operatorUser},
				Subjects:   subjects,
			},
		}
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

// createNamespace creates a namespace unless it exists (the namespaced grant makes it first).
func createNamespace(ctx context.Context, c client.Client, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}
