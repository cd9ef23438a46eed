package controller

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// The ClusterD365Identity tests' world: the harness's namespace is the platform team's (the
// --cluster-resource-namespace, holding the credential), and team namespaces hold the
// connections.

// usePlatformNamespace makes the harness's namespace the --cluster-resource-namespace.
func (h *harness) usePlatformNamespace() {
	d := h.r.Dependencies
	d.ClusterResourceNamespace = h.ns
	h.r = New(d)
}

// teamNamespace creates a namespace for an application team, with labels.
func (h *harness) teamNamespace(team string, labels map[string]string) string {
	name := fmt.Sprintf("%s-%s", h.ns, team)
	h.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	return name
}

// clusterIdentity creates a ClusterD365Identity signing in with the client secret in Secret
// "d365-app" of the platform namespace (no namespace on the references: the default), and
// deletes it when the test ends (identities are cluster-scoped). It returns its name.
func (h *harness) clusterIdentity(name string, mutate ...func(*v1alpha1.ClusterD365Identity)) string {
	h.t.Helper()
	id := &v1alpha1.ClusterD365Identity{
		ObjectMeta: metav1.ObjectMeta{Name: h.ns + "-" + name},
		Spec: v1alpha1.ClusterD365IdentitySpec{Auth: v1alpha1.AuthSpec{ClientSecret: &v1alpha1.ClientSecretAuth{
			ClientIDRef:     &v1alpha1.SecretKeyRef{Name: "d365-app", Key: "client-id"},
			ClientSecretRef: v1alpha1.SecretKeyRef{Name: "d365-app", Key: "client-secret"},
		}}},
	}
	for _, m := range mutate {
		m(id)
	}
	h.create(id)
	h.t.Cleanup(func() { _ = env.Client.Delete(h.ctx, id) })
	return id.Name
}

// identityConnection creates a connection in namespace that signs in as identity.
func (h *harness) identityConnection(namespace, name, identity string) {
	h.t.Helper()
	h.create(&v1alpha1.D365Connection{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.D365ConnectionSpec{EnvironmentURL: envURL,
			IdentityRef: &v1alpha1.IdentityRef{Name: identity}},
	})
}

// getIn returns a connection of another namespace.
func (h *harness) getIn(namespace, name string) *v1alpha1.D365Connection {
	h.t.Helper()
	conn := &v1alpha1.D365Connection{}
	if err := env.Client.Get(h.ctx, types.NamespacedName{Namespace: namespace, Name: name}, conn); err != nil {
		h.t.Fatalf("getting connection %s/%s: %v", namespace, name, err)
	}
	return conn
}

// readyIn is a connection's Ready condition.
func (h *harness) readyIn(namespace, name string) metav1.Condition {
	return *findCondition(h.getIn(namespace, name), v1alpha1.ConditionReady)
}

// tokenIn is the access token in a connection's output Secret ("" when there is none).
func (h *harness) tokenIn(namespace, name string) string {
	s := &corev1.Secret{}
	if err := env.Client.Get(h.ctx, types.NamespacedName{Namespace: namespace, Name: name + "-token"}, s); err != nil {
		return ""
	}
	return string(s.Data[v1alpha1.SecretKeyAccessToken])
}

// identityStatus returns a ClusterD365Identity's status.
func (h *harness) identityStatus(name string) v1alpha1.ClusterD365IdentityStatus {
	h.t.Helper()
	id := &v1alpha1.ClusterD365Identity{}
	if err := env.Client.Get(h.ctx, types.NamespacedName{Name: name}, id); err != nil {
		h.t.Fatalf("getting ClusterD365Identity %s: %v", name, err)
	}
	return id.Status
}

// identityReady is a ClusterD365Identity's Ready condition (zero when absent).
func (h *harness) identityReady(name string) metav1.Condition {
	st := h.identityStatus(name)
	for _, c := range st.Conditions {
		if c.Type == v1alpha1.ConditionReady {
			return c
		}
	}
	return metav1.Condition{}
}

// eventuallyReady waits until each namespace/name connection is Ready.
func (h *harness) eventuallyReady(connections ...[2]string) {
	h.t.Helper()
	for _, c := range connections {
		h.eventually(c[0]+"/"+c[1]+" Ready", func() bool {
			return h.readyIn(c[0], c[1]).Status == metav1.ConditionTrue
		})
	}
}

// eventuallyReason waits until a connection's Ready condition has reason.
func (h *harness) eventuallyReason(namespace, name, reason string) metav1.Condition {
	h.t.Helper()
	var c metav1.Condition
	h.eventually(fmt.Sprintf("%s/%s Ready=False %s", namespace, name, reason), func() bool {
		c = h.readyIn(namespace, name)
		return c.Status == metav1.ConditionFalse && c.Reason == reason
	})
	return c
}

// mentions fails the test unless message holds each part.
func (h *harness) mentions(what, message string, parts ...string) {
	h.t.Helper()
	for _, p := range parts {
		if !strings.Contains(message, p) {
			h.t.Errorf("%s: message %q does not mention %q", what, message, p)
		}
	}
}
