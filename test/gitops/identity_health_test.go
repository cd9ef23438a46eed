package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// identityCases are ClusterD365Identities as the operator leaves them: Ready, with Stalled
// while it cannot sign in (no Reconciling), and observedGeneration; the same Argo CD script
// judges them (docs/gitops.md installs it for both kinds).
var identityCases = []struct {
	name        string
	object      string
	argoStatus  string
	argoMessage string
	kstatus     status.Status
}{
	{
		name: "the credential resolves, no connection used it yet",
		object: `{metadata: {generation: 1}, status: {observedGeneration: 1, connections: 0, conditions: [
			{type: Ready, status: "True", reason: CredentialResolved, message: "The credential resolves"}]}}`,
		argoStatus: "Healthy", argoMessage: "CredentialResolved",
		kstatus: status.CurrentStatus,
	},
	{
		name: "Entra ID accepted it",
		object: `{metadata: {generation: 2}, status: {observedGeneration: 2, connections: 12, conditions: [
			{type: Ready, status: "True", reason: CredentialAccepted, message: "Entra ID issued a token for it"}]}}`,
		argoStatus: "Healthy", argoMessage: "CredentialAccepted",
		kstatus: status.CurrentStatus,
	},
	{
		name: "a new allowedNamespaces not yet observed",
		object: `{metadata: {generation: 3}, status: {observedGeneration: 2, conditions: [
			{type: Ready, status: "True", reason: CredentialAccepted}]}}`,
		argoStatus: "Progressing", argoMessage: "generation 3",
		kstatus: status.InProgressStatus,
	},
	{
		name: "its Secret is missing",
		object: `{metadata: {generation: 1}, status: {observedGeneration: 1, conditions: [
			{type: Ready, status: "False", reason: SecretNotFound, message: "Secret \"sales-app\" not found"},
			{type: Stalled, status: "True", reason: SecretNotFound, message: "Secret \"sales-app\" not found"}]}}`,
		argoStatus: "Degraded", argoMessage: "SecretNotFound",
		// Stalled: Flux fails the Kustomization with the reason instead of waiting.
		kstatus: status.FailedStatus,
	},
	{
		name: "Entra ID refused its secret",
		object: `{metadata: {generation: 1}, status: {observedGeneration: 1, lastFailure: {reason: InvalidClientSecret,
			code: AADSTS7000215}, conditions: [
			{type: Ready, status: "False", reason: InvalidClientSecret, message: "Entra ID refused the credential"},
			{type: Stalled, status: "True", reason: InvalidClientSecret, message: "Entra ID refused the credential"}]}}`,
		argoStatus: "Degraded", argoMessage: "InvalidClientSecret",
		kstatus: status.FailedStatus,
	},
}

func TestIdentityHealth(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "docs", "argocd-health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range identityCases {
		t.Run(tc.name, func(t *testing.T) {
			obj := object(t, tc.object)
			gotStatus, gotMessage := runHealthScript(t, string(script), obj)
			if gotStatus != tc.argoStatus || !strings.Contains(gotMessage, tc.argoMessage) {
				t.Errorf("Argo CD health = %s %q; want %s with a message containing %q",
					gotStatus, gotMessage, tc.argoStatus, tc.argoMessage)
			}
			u := &unstructured.Unstructured{Object: obj}
			u.SetAPIVersion("d365.operators.dev/v1alpha1")
			u.SetKind("ClusterD365Identity")
			res, err := status.Compute(u)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.kstatus {
				t.Errorf("kstatus = %s (%s); want %s", res.Status, res.Message, tc.kstatus)
			}
		})
	}
}
