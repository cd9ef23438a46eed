package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch

// AnnotationWorkloadClientID is the annotation by which a ServiceAccount consents to be
// signed in as an app: Azure Workload Identity's own convention, so the annotation that
// lets a pod use the app also lets a D365Connection use the ServiceAccount.
const AnnotationWorkloadClientID = "azure.workload.identity/client-id"

// checkServiceAccountConsent refuses to sign in as a ServiceAccount that does not exist
// or has not opted in: a user who may write connections in a namespace must not be able to
// borrow any of its ServiceAccounts for an app those ServiceAccounts never agreed to. Both
// are terminal: the ServiceAccount watch retries as soon as it is created or annotated.
func (r *D365ConnectionReconciler) checkServiceAccountConsent(ctx context.Context, s *reconcileState, sa types.NamespacedName) *stepError {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	err := r.SecretMetadata.Get(ctx, sa, meta)
	annotate := fmt.Sprintf("kubectl annotate serviceaccount %s -n %s %s=%s", shellQuote(sa.Name), shellQuote(sa.Namespace),
		AnnotationWorkloadClientID, clientIDArgument(s.clientID))
	switch {
	case apierrors.IsNotFound(err):
		return terminal(v1alpha1.ReasonServiceAccountNotFound,
			"ServiceAccount %q (%s) not found in namespace %q, %s: create it there (kubectl create serviceaccount %s -n %s) and let it consent (%s); the connection retries when it appears",
			sa.Name, s.source.field("workloadIdentity.serviceAccountName"), sa.Namespace, s.source.serviceAccountHome(), sa.Name, sa.Namespace, annotate)
	case err != nil:
		return &stepError{Reason: v1alpha1.ReasonServiceUnavailable, Message: fmt.Sprintf(
			"Reading ServiceAccount %s/%s: %s", sa.Namespace, sa.Name, apiErrorText(err))}
	}
	if !strings.EqualFold(strings.TrimSpace(meta.Annotations[AnnotationWorkloadClientID]), s.clientID.value) {
		return terminal(v1alpha1.ReasonServiceAccountNotConsenting,
			"ServiceAccount %q has not consented to sign-ins as %s: its annotation %s must name that client ID (%s); the connection retries when it changes",
			sa.Name, s.clientID.shown, AnnotationWorkloadClientID, annotate)
	}
	return nil
}

// clientIDArgument is the client ID as a shell argument of a suggested command: the ID, or,
// when it is kept in a Secret, a command substitution that reads it, so that the message
// never holds a Secret's value.
func clientIDArgument(clientID clientIDOf) string {
	if clientID.ref == nil {
		return shellQuote(clientID.value)
	}
	return fmt.Sprintf(`"$(kubectl get secret %s -n %s -o jsonpath='{.data.%s}' | base64 -d)"`,
		shellQuote(clientID.secret.Name), shellQuote(clientID.secret.Namespace), clientID.ref.Key)
}
