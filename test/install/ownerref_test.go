package install_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	d365v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// ownerReferencesPlugin is enabled on this package's API server (TestMain), as on clusters
// that harden garbage collection (OpenShift enables it by default): setting
// blockOwnerDeletion on an owner reference then needs update on the owner's finalizers.
const ownerReferencesPlugin = "OwnerReferencesPermissionEnforcement"

// The operator, signed in as its ServiceAccount with exactly the generated role, creates its
// output Secret controlled by the connection (blockOwnerDeletion: true, as
// controllerutil.SetControllerReference sets it) on an API server that enforces owner
// reference permissions, and updates it afterwards. The same role without the
// d365connections/finalizers rule is refused: the plugin is really on, and that rule is the
// one it needs.
func TestOperatorRoleSetsOwnerReferencesUnderEnforcement(t *testing.T) {
	ctx := context.Background()
	const ns = "ownerref-team"
	createNamespaces(t, ns)
	conn := &d365v1alpha1.D365Connection{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "crm"},
		Spec: d365v1alpha1.D365ConnectionSpec{
			EnvironmentURL: "https://contoso.crm.dynamics.com",
			TenantID:       "contoso.onmicrosoft.com",
			Auth: d365v1alpha1.AuthSpec{WorkloadIdentity: &d365v1alpha1.WorkloadIdentityAuth{
				ClientID: "5f0c3e2a-8d1b-4c7e-a9f6-2b3d4e5f6a7b", ServiceAccountName: "crm-client",
			}},
			Target: d365v1alpha1.TargetSpec{Name: "crm-token"},
		},
	}
	if err := env.Client.Create(ctx, conn); err != nil {
		t.Fatalf("creating the connection: %v", err)
	}

	generated, err := env.OperatorRole()
	if err != nil {
		t.Fatal(err)
	}
	withoutFinalizers := generated.DeepCopy()
	withoutFinalizers.Name = "manager-role-without-finalizers"
	withoutFinalizers.Rules = nil
	for _, r := range generated.Rules {
		if !slices.Contains(r.Resources, "d365connections/finalizers") {
			withoutFinalizers.Rules = append(withoutFinalizers.Rules, r)
		}
	}

	for _, tc := range []struct {
		name    string
		role    *rbacv1.ClusterRole
		allowed bool
	}{
		{name: "generated role", role: generated, allowed: true},
		{name: "without the finalizers rule", role: withoutFinalizers, allowed: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saName := "operator-" + strings.ReplaceAll(tc.name, " ", "-")
			c := serviceAccountClient(t, "ownerref-operator", saName, tc.role)
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "crm-token-" + saName}}
			if err := controllerutil.SetControllerReference(conn, secret, env.Scheme); err != nil {
				t.Fatal(err)
			}
			if ref := secret.OwnerReferences[0]; ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
				t.Fatal("SetControllerReference no longer sets blockOwnerDeletion: this test proves nothing")
			}
			secret.StringData = map[string]string{"note": "not a token"}
			err := c.Create(ctx, secret)
			switch {
			case tc.allowed && err != nil:
				t.Fatalf("the operator's generated role cannot create its output Secret under %s: %v", ownerReferencesPlugin, err)
			case !tc.allowed && err == nil:
				t.Fatalf("the API server accepted blockOwnerDeletion without d365connections/finalizers: is %s enabled?",
					ownerReferencesPlugin)
			case !tc.allowed:
				if !strings.Contains(err.Error(), "blockOwnerDeletion") {
					t.Errorf("refused, but not by %s: %v", ownerReferencesPlugin, err)
				}
				return
			}
			// Updates keep the owner reference: no delete permission on Secrets is needed.
			secret.StringData = map[string]string{"note": "still not a token"}
			if err := c.Update(ctx, secret); err != nil {
				t.Errorf("the operator cannot update its output Secret: %v", err)
			}
		})
	}
}

// serviceAccountClient signs in as ServiceAccount namespace/name bound to role.
func serviceAccountClient(t *testing.T, namespace, name string, role *rbacv1.ClusterRole) client.Client {
	t.Helper()
	kubeconfig, err := env.ServiceAccountKubeconfig(context.Background(), namespace, name, role, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
