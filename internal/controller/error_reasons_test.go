package controller

import (
	"fmt"
	"testing"
	"time"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/entra"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// TestEveryWireKindHasAReason fails when a wire package adds a kind the tables do not map
// (it would show as the caller's fallback reason) or the tables keep one it dropped.
func TestEveryWireKindHasAReason(t *testing.T) {
	checkComplete(t, "entra", entra.Kinds(), entraOutcomes)
	checkComplete(t, "dataverse", dataverse.Kinds(), dataverseOutcomes)
	checkComplete(t, "trust", trust.Kinds(), trustOutcomes)
	checkComplete(t, "dataverse operation", dataverse.Ops(), dataverseOpReasons)
}

func checkComplete[K comparable, V any](t *testing.T, pkg string, kinds []K, table map[K]V) {
	t.Helper()
	for _, k := range kinds {
		if _, ok := table[k]; !ok {
			t.Errorf("%s kind %v has no mapping", pkg, k)
		}
	}
	if len(table) != len(kinds) {
		t.Errorf("the %s table maps %d kinds, the package has %d", pkg, len(table), len(kinds))
	}
}

// outcomeCase is a wire error and what it must show on the connection.
type outcomeCase struct {
	name     string
	err      error
	reason   string
	terminal bool
}

// fallback is the reason classify is given in these tests.
const fallback = "Fallback"

// checkOutcomes pins what each wire error shows on the connection: the reason and whether
// it waits for the user.
func checkOutcomes(t *testing.T, tests []outcomeCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.err, fallback)
			if got.Reason != tc.reason || got.Terminal != tc.terminal {
				t.Errorf("classify = (%s, terminal %v), want (%s, terminal %v)", got.Reason, got.Terminal, tc.reason, tc.terminal)
			}
		})
	}
}

func TestEntraErrorsKeepTheirReasons(t *testing.T) {
	checkOutcomes(t, []outcomeCase{
		{"throttling is retried after its Retry-After", &entra.Error{Kind: entra.Throttled}, v1alpha1.ReasonThrottled, false},
		{"an outage is retried", &entra.Error{Kind: entra.Unavailable}, v1alpha1.ReasonServiceUnavailable, false},
		{"a secret's ID instead of its value waits for the user", &entra.Error{Kind: entra.InvalidClientSecret}, v1alpha1.ReasonInvalidClientSecret, true},
		{"an expired secret waits for the user", &entra.Error{Kind: entra.ClientSecretExpired}, v1alpha1.ReasonClientSecretExpired, true},
		{"an unknown app waits for the user", &entra.Error{Kind: entra.ApplicationNotFound}, v1alpha1.ReasonApplicationNotFound, true},
		{"an unknown tenant waits for the user", &entra.Error{Kind: entra.TenantNotFound}, v1alpha1.ReasonTenantNotFound, true},
		{"an environment unknown to the tenant waits for the user", &entra.Error{Kind: entra.ResourceNotFound}, v1alpha1.ReasonResourceNotFound, true},
		{"a bad scope waits for the user", &entra.Error{Kind: entra.InvalidScope}, v1alpha1.ReasonInvalidScope, true},
		{"MFA or Conditional Access waits for the user", &entra.Error{Kind: entra.InteractionRequired}, v1alpha1.ReasonInteractionRequired, true},
		{"an expired sign-in waits for the user", &entra.Error{Kind: entra.SignInExpired}, v1alpha1.ReasonSignInExpired, true},
		{"a rejected credential waits for the user", &entra.Error{Kind: entra.CredentialRejected}, v1alpha1.ReasonCredentialRejected, true},
		{"a rejected certificate waits for the user", &entra.Error{Kind: entra.CertificateRejected}, v1alpha1.ReasonCertificateRejected, true},
		{"a missing federated credential waits for the user", &entra.Error{Kind: entra.FederatedCredentialMismatch}, v1alpha1.ReasonFederatedCredentialMismatch, true},
		{"an unusable credential waits for the user", &entra.Error{Kind: entra.InvalidCredential}, v1alpha1.ReasonInvalidCredential, true},
		{"an unexplained refusal is retried", &entra.Error{Kind: entra.RequestFailed}, v1alpha1.ReasonTokenRequestFailed, false},
		{"a kind without a mapping is a transient fallback", &entra.Error{Kind: "SomethingNew"}, fallback, false},
	})
}

func TestDataverseAndTrustErrorsKeepTheirReasons(t *testing.T) {
	checkOutcomes(t, []outcomeCase{
		{"throttled discovery is retried", dv(dataverse.OpDiscover, dataverse.Throttled), v1alpha1.ReasonThrottled, false},
		{"throttled WhoAmI is retried", dv(dataverse.OpWhoAmI, dataverse.Throttled), v1alpha1.ReasonThrottled, false},
		{"an unreachable environment is retried", dv(dataverse.OpDiscover, dataverse.Unavailable), v1alpha1.ReasonServiceUnavailable, false},
		{"a WhoAmI outage is retried", dv(dataverse.OpWhoAmI, dataverse.Unavailable), v1alpha1.ReasonServiceUnavailable, false},
		{"a rejected token is retried with a new one", dv(dataverse.OpWhoAmI, dataverse.TokenRejected), v1alpha1.ReasonTokenRejected, false},
		{"a missing application user waits for the user", dv(dataverse.OpWhoAmI, dataverse.ApplicationUserNotFound), v1alpha1.ReasonApplicationUserNotFound, true},
		{"denied access waits for the user", dv(dataverse.OpWhoAmI, dataverse.AccessDenied), v1alpha1.ReasonAccessDenied, true},
		{"administration mode is retried", dv(dataverse.OpWhoAmI, dataverse.AdminMode), v1alpha1.ReasonEnvironmentAdminMode, false},
		{"a malformed URL fails discovery for good", dv(dataverse.OpDiscover, dataverse.InvalidRequest), v1alpha1.ReasonAuthorityDiscoveryFailed, true},
		{"a malformed URL or no token fails WhoAmI for good", dv(dataverse.OpWhoAmI, dataverse.InvalidRequest), v1alpha1.ReasonWhoAmIFailed, true},
		{"an environment without a challenge fails discovery for good", dv(dataverse.OpDiscover, dataverse.NoChallenge), v1alpha1.ReasonAuthorityDiscoveryFailed, true},
		{"an unexpected WhoAmI answer is retried", dv(dataverse.OpWhoAmI, dataverse.UnexpectedAnswer), v1alpha1.ReasonWhoAmIFailed, false},
		{"a Dataverse error without an operation takes the fallback", dv("", dataverse.InvalidRequest), fallback, true},
		{"an untrusted authority waits for the user", &trust.Error{Kind: trust.KindAuthority}, v1alpha1.ReasonAuthorityNotTrusted, true},
		{"an untrusted environment waits for the user", &trust.Error{Kind: trust.KindEnvironment}, v1alpha1.ReasonEnvironmentNotTrusted, true},
		{"any other error is a transient fallback", fmt.Errorf("boom"), fallback, false},
	})
}

func dv(op dataverse.Op, kind dataverse.Kind) *dataverse.Error {
	return &dataverse.Error{Op: op, Kind: kind}
}

func TestClassifyKeepsMessagesAndRetryAfter(t *testing.T) {
	ee := classify(fmt.Errorf("acquiring: %w", &entra.Error{Kind: entra.Throttled, Message: "Entra ID is throttling", RetryAfter: 7 * time.Second}), fallback)
	if ee.Message != "Entra ID is throttling" || ee.RetryAfter != 7*time.Second {
		t.Errorf("entra: %+v", ee)
	}
	de := classify(&dataverse.Error{Op: dataverse.OpWhoAmI, Kind: dataverse.Throttled, Message: "throttled", RetryAfter: time.Minute}, fallback)
	if de.Message != "throttled" || de.RetryAfter != time.Minute {
		t.Errorf("dataverse: %+v", de)
	}
	te := &trust.Error{Kind: trust.KindEnvironment, Host: "evil.example", Problem: trust.ProblemUnknownHost}
	if got := classify(te, fallback); got.Message != te.Error() {
		t.Errorf("trust: %+v", got)
	}
}

// A credential source (the ServiceAccount token minter) fails with its own step error and
// entra wraps it in a RequestFailed *entra.Error (entra's tests pin that): classify finds
// the step error first. The chain here stands in for entra's wrapper.
func TestAStepErrorBehindAnEntraErrorWins(t *testing.T) {
	own := &stepError{Reason: v1alpha1.ReasonServiceAccountNotFound, Message: "ServiceAccount \"d365\" not found"}
	wrapped := fmt.Errorf("%w: %w", &entra.Error{Kind: entra.RequestFailed, Message: "The federated token source failed"}, own)
	if got := classify(wrapped, v1alpha1.ReasonTokenRequestFailed); got != own {
		t.Errorf("classify = %+v, want the step error itself", got)
	}
}
