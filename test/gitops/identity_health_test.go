package gitops_test

import (
	"testing"

	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// identityCases are ClusterD365Identities as the operator leaves them: Ready, with Stalled
// while it cannot sign in (no Reconciling), and observedGeneration; the same Argo CD script
// judges them (docs/gitops.md installs it for both kinds).
var identityCases = []healthCase{
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

func TestIdentityHealth(t *testing.T) { judgeHealth(t, "ClusterD365Identity", identityCases) }
