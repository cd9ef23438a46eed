package controller

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// Event reasons and the action every event reports. A failure's event carries the
// condition's own reason (e.g. InvalidClientSecret), so it needs no constant here.
const (
	// eventReasonTokenIssued: the connection became Ready for the first time.
	eventReasonTokenIssued = v1alpha1.ReasonTokenIssued
	// eventReasonRecovered: the connection is Ready again after a failure.
	eventReasonRecovered = "Recovered"
	// eventReasonOrganizationChanged: WhoAmI answered with another organization id than at
	// the previous check.
	eventReasonOrganizationChanged = "OrganizationChanged"
	// eventActionReconcile is the action of every event the reconciler emits.
	eventActionReconcile = "Reconcile"
)

// announce emits events on transitions of Ready only: first token, failure, recovery.
// A routine refresh changes nothing here and emits nothing.
func (r *D365ConnectionReconciler) announce(before, after *v1alpha1.D365Connection) {
	if r.Recorder == nil {
		return
	}
	was, is := findCondition(before, v1alpha1.ConditionReady), findCondition(after, v1alpha1.ConditionReady)
	if was.Status == is.Status && was.Reason == is.Reason {
		return
	}
	switch {
	case is.Status == metav1.ConditionTrue && was.Status == metav1.ConditionFalse:
		r.Recorder.Eventf(after, nil, corev1.EventTypeNormal, eventReasonRecovered, eventActionReconcile, "%s", is.Message)
	case is.Status == metav1.ConditionTrue:
		r.Recorder.Eventf(after, nil, corev1.EventTypeNormal, eventReasonTokenIssued, eventActionReconcile, "%s", is.Message)
	case is.Status == metav1.ConditionFalse:
		r.Recorder.Eventf(after, nil, corev1.EventTypeWarning, is.Reason, eventActionReconcile, "%s", is.Message)
	}
}

// announceOrganizationChange emits the Warning event of an organization id that changed
// between two health checks.
func (r *D365ConnectionReconciler) announceOrganizationChange(conn *v1alpha1.D365Connection, note string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(conn, nil, corev1.EventTypeWarning, eventReasonOrganizationChanged, eventActionReconcile, "%s", "WhoAmI: "+note)
	}
}
