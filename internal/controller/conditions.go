package controller

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// setCondition sets a condition with the transition time from the injected clock (not
// metav1.Now) so tests with a fake clock see stable, predictable times. An unchanged
// condition keeps its transition time, so a reconcile that changes nothing writes nothing.
func setCondition(conn *v1alpha1.D365Connection, now metav1.Time, typ string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&conn.Status.Conditions, metav1.Condition{
		Type:               typ,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: conn.Generation,
		LastTransitionTime: now,
	})
}

// summarize derives Ready, Reconciling and Stalled from the outcome of the steps:
// failed is the step error that decides the connection's state (nil when all went well),
// okMessage describes the healthy state.
func summarize(conn *v1alpha1.D365Connection, now metav1.Time, failed *stepError, okMessage string) {
	if failed == nil {
		setCondition(conn, now, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonTokenIssued, okMessage)
		meta.RemoveStatusCondition(&conn.Status.Conditions, v1alpha1.ConditionReconciling)
		meta.RemoveStatusCondition(&conn.Status.Conditions, v1alpha1.ConditionStalled)
		return
	}
	setCondition(conn, now, v1alpha1.ConditionReady, metav1.ConditionFalse, failed.Reason, failed.Message)
	if failed.Terminal {
		setCondition(conn, now, v1alpha1.ConditionStalled, metav1.ConditionTrue, failed.Reason, failed.Message)
		meta.RemoveStatusCondition(&conn.Status.Conditions, v1alpha1.ConditionReconciling)
		return
	}
	setCondition(conn, now, v1alpha1.ConditionReconciling, metav1.ConditionTrue, failed.Reason, "Retrying: "+failed.Message)
	meta.RemoveStatusCondition(&conn.Status.Conditions, v1alpha1.ConditionStalled)
}

// markSuspended says in Ready that the connection is suspended, keeping Ready's status:
// the token in the Secret is as valid as it was, but it is no longer refreshed.
func markSuspended(conn *v1alpha1.D365Connection, now metav1.Time) {
	status := metav1.ConditionUnknown
	if c := meta.FindStatusCondition(conn.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		status = c.Status
	}
	message := "spec.suspend is true: nothing is called or written, and the token is not refreshed"
	if t := conn.Status.TokenExpiresAt; t != nil {
		message += "; the token in Secret " + conn.Status.TargetSecretName + " expires at " + t.UTC().Format(time.RFC3339)
	}
	setCondition(conn, now, v1alpha1.ConditionReady, status, v1alpha1.ReasonSuspended, message)
	meta.RemoveStatusCondition(&conn.Status.Conditions, v1alpha1.ConditionReconciling)
}
