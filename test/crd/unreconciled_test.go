package crd_test

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	d365v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// A connection the operator has not reconciled yet (first install, an outage) must not look
// healthy to GitOps tools. The API server reads it with status.observedGeneration 0 (a CRD
// default), which kstatus — Flux's health check — judges InProgress, not Current.
func TestAnUnreconciledConnectionIsInProgressForKstatus(t *testing.T) {
	ns := newNamespace(t, "unreconciled")
	conn := &d365v1alpha1.D365Connection{Spec: validSpec()}
	conn.GenerateName, conn.Namespace = "conn-", ns
	if err := env.Client.Create(context.Background(), conn); err != nil {
		t.Fatal(err)
	}

	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(d365v1alpha1.GroupVersion.WithKind("D365Connection"))
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(conn), u); err != nil {
		t.Fatal(err)
	}
	got, found, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	if !found || got != 0 {
		t.Fatalf("status.observedGeneration = %d (present: %v), want 0 from the CRD's default", got, found)
	}
	res, err := status.Compute(u)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != status.InProgressStatus {
		t.Errorf("kstatus = %s (%s), want InProgress until the operator writes a status", res.Status, res.Message)
	}
}
