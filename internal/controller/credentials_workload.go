package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// +kubebuilder:rbac:groups="",resources=serviceaccounts/token,verbs=create
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=selfsubjectreviews,verbs=create

// serviceAccountTokenTTL is the lifetime asked of minted ServiceAccount tokens: the API
// server's minimum. A token is minted for each Entra ID request and used once at once, so
// a longer one would only be a longer-lived bearer credential.
const serviceAccountTokenTTL = 10 * time.Minute

// tokenRequestTimeout bounds one TokenRequest call.
const tokenRequestTimeout = 30 * time.Second

// serviceAccountPrefix starts the user name and the token subject of every ServiceAccount.
const serviceAccountPrefix = "system:serviceaccount:"

// resolveWorkloadIdentity builds auth.workloadIdentity's credential: no Secret at all. For
// each token request, MSAL's assertion callback mints a token for the named ServiceAccount
// of the connection's own namespace (TokenRequest API, audience api://AzureADTokenExchange)
// and Entra ID accepts it through the app's federated credential for
// system:serviceaccount:<namespace>:<name>.
//
// The namespace is always the connection's (or, for a ClusterD365Identity, which only the
// platform team writes, the --cluster-resource-namespace): there is no field to name another,
// so a user who may write connections in one namespace can never sign in as another
// namespace's workload.
// The operator's own ServiceAccount is refused as well: it could otherwise be borrowed by a
// connection created in the operator's namespace.
func (r *D365ConnectionReconciler) resolveWorkloadIdentity(ctx context.Context, s *reconcileState) (entra.Credential, *stepError) {
	wi := s.source.auth.WorkloadIdentity
	if s.source.namespace == "" {
		return nil, terminal(v1alpha1.ReasonServiceAccountNotFound,
			"%s names a ServiceAccount of the --cluster-resource-namespace, and the operator runs without one: start it with --cluster-resource-namespace", s.source.field("workloadIdentity"))
	}
	sa := types.NamespacedName{Namespace: s.source.namespace, Name: wi.ServiceAccountName}
	if sa == r.OperatorServiceAccount {
		return nil, terminal(v1alpha1.ReasonServiceAccountNotAllowed,
			"ServiceAccount %q is the operator's own; a connection may not sign in as it: create a ServiceAccount for this connection and name it in %s", sa.Name, s.source.field("workloadIdentity.serviceAccountName"))
	}
	if failed := r.checkServiceAccountConsent(ctx, s, sa); failed != nil {
		return nil, failed
	}
	subject := serviceAccountPrefix + sa.Namespace + ":" + sa.Name
	mint := func(ctx context.Context) (string, error) { return r.mintServiceAccountToken(ctx, s.source, sa) }
	return entra.WorkloadIdentity(subject, mint), nil
}

// mintServiceAccountToken asks the API server for a short-lived token of sa with Entra ID's
// federation audience. Failures are *stepError values, which entra keeps reachable behind
// its own error, so that they reach the condition with their own reason; none is terminal,
// since creating the ServiceAccount or granting the RBAC fixes them without a change the
// operator would be told about.
func (r *D365ConnectionReconciler) mintServiceAccountToken(ctx context.Context, src signInSource, sa types.NamespacedName) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, tokenRequestTimeout)
	defer cancel()
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         []string{entra.FederatedAudience},
		ExpirationSeconds: ptr.To(int64(serviceAccountTokenTTL / time.Second)),
	}}
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: sa.Namespace, Name: sa.Name}}
	err := r.Client.SubResource("token").Create(ctx, account, req)
	switch {
	case apierrors.IsNotFound(err):
		return "", &stepError{Reason: v1alpha1.ReasonServiceAccountNotFound, Message: fmt.Sprintf(
			"ServiceAccount %q (%s) not found in namespace %q, %s: create it there (kubectl create serviceaccount %s -n %s); retrying",
			sa.Name, src.field("workloadIdentity.serviceAccountName"), sa.Namespace, src.serviceAccountHome(), sa.Name, sa.Namespace)}
	case apierrors.IsForbidden(err):
		return "", &stepError{Reason: v1alpha1.ReasonTokenRequestFailed, Message: fmt.Sprintf(
			"The operator may not create tokens for ServiceAccount %s/%s: it was installed without workload identity "+
				"(Helm value workloadIdentity.enabled=false, or the kustomize component no-workload-identity), which drops its "+
				"create on serviceaccounts/token. Install it with workload identity, or sign in with another method; retrying",
			sa.Namespace, sa.Name)}
	case err != nil:
		return "", &stepError{Reason: v1alpha1.ReasonServiceUnavailable, Message: fmt.Sprintf(
			"Requesting a token for ServiceAccount %s/%s failed: %s", sa.Namespace, sa.Name, apiErrorText(err))}
	case req.Status.Token == "":
		return "", &stepError{Reason: v1alpha1.ReasonTokenRequestFailed, Message: fmt.Sprintf(
			"The API server returned no token for ServiceAccount %s/%s", sa.Namespace, sa.Name)}
	}
	return req.Status.Token, nil
}

// apiErrorText is an API error's message, which names the object and the status but never
// the request body.
func apiErrorText(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		return s.Status().Message
	}
	return err.Error()
}

// OperatorServiceAccount returns the ServiceAccount the operator runs as, asking the API
// server who the client is (SelfSubjectReview, allowed to every authenticated user). It is
// zero when the operator runs as another kind of user, e.g. with a developer's kubeconfig.
func OperatorServiceAccount(ctx context.Context, c client.Client) (types.NamespacedName, error) {
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, review); err != nil {
		return types.NamespacedName{}, fmt.Errorf("asking the API server who the operator is (SelfSubjectReview): %w", err)
	}
	return serviceAccountOf(review.Status.UserInfo.Username), nil
}

// serviceAccountOf parses "system:serviceaccount:<namespace>:<name>"; other users are zero.
func serviceAccountOf(username string) types.NamespacedName {
	rest, ok := strings.CutPrefix(username, serviceAccountPrefix)
	if !ok {
		return types.NamespacedName{}
	}
	ns, name, ok := strings.Cut(rest, ":")
	if !ok || ns == "" || name == "" {
		return types.NamespacedName{}
	}
	return types.NamespacedName{Namespace: ns, Name: name}
}
