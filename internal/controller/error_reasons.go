package controller

import (
	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/entra"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// outcome is what a kind of wire error means for a connection: the condition reason it
// shows, and whether it is terminal (retrying without a change by the user cannot help).
type outcome struct {
	reason   string
	terminal bool
}

// The wire packages report what went wrong in their own words (entra.Kind, dataverse.Kind,
// trust.Kind); these tables are the one place that says what each means for a condition.
// Throttling and outages are transient; bad input and rejected credentials are terminal.
var (
	entraOutcomes = map[entra.Kind]outcome{
		entra.Throttled:                   {v1alpha1.ReasonThrottled, false},
		entra.Unavailable:                 {v1alpha1.ReasonServiceUnavailable, false},
		entra.InvalidClientSecret:         {v1alpha1.ReasonInvalidClientSecret, true},
		entra.ClientSecretExpired:         {v1alpha1.ReasonClientSecretExpired, true},
		entra.ApplicationNotFound:         {v1alpha1.ReasonApplicationNotFound, true},
		entra.TenantNotFound:              {v1alpha1.ReasonTenantNotFound, true},
		entra.ResourceNotFound:            {v1alpha1.ReasonResourceNotFound, true},
		entra.InvalidScope:                {v1alpha1.ReasonInvalidScope, true},
		entra.InteractionRequired:         {v1alpha1.ReasonInteractionRequired, true},
		entra.SignInExpired:               {v1alpha1.ReasonSignInExpired, true},
		entra.CredentialRejected:          {v1alpha1.ReasonCredentialRejected, true},
		entra.CertificateRejected:         {v1alpha1.ReasonCertificateRejected, true},
		entra.FederatedCredentialMismatch: {v1alpha1.ReasonFederatedCredentialMismatch, true},
		entra.InvalidCredential:           {v1alpha1.ReasonInvalidCredential, true},
		// Entra ID refused without saying why: the rate-limited queue retries.
		entra.RequestFailed: {v1alpha1.ReasonTokenRequestFailed, false},
	}

	// dataverseOutcomes: the failures of a call as such take the call's own reason
	// (dataverseOpReasons); a malformed URL is terminal for both calls, but an unexpected
	// answer is only terminal for discovery, whose probe does not depend on a token.
	dataverseOutcomes = map[dataverse.Kind]outcome{
		dataverse.Throttled:               {v1alpha1.ReasonThrottled, false},
		dataverse.Unavailable:             {v1alpha1.ReasonServiceUnavailable, false},
		dataverse.TokenRejected:           {v1alpha1.ReasonTokenRejected, false},
		dataverse.ApplicationUserNotFound: {v1alpha1.ReasonApplicationUserNotFound, true},
		dataverse.AccessDenied:            {v1alpha1.ReasonAccessDenied, true},
		// Administration mode ends without a change to the connection.
		dataverse.AdminMode: {v1alpha1.ReasonEnvironmentAdminMode, false},
		// The application user needs a role with the named privilege: a change in Dataverse.
		dataverse.PrivilegeDenied:  {v1alpha1.ReasonMissingPrivileges, true},
		dataverse.InvalidRequest:   {opReason, true},
		dataverse.NoChallenge:      {opReason, true},
		dataverse.UnexpectedAnswer: {opReason, false},
	}
	dataverseOpReasons = map[dataverse.Op]string{
		dataverse.OpDiscover:       v1alpha1.ReasonAuthorityDiscoveryFailed,
		dataverse.OpWhoAmI:         v1alpha1.ReasonWhoAmIFailed,
		dataverse.OpUserPrivileges: v1alpha1.ReasonPrivilegeCheckFailed,
		// The environment's description never decides Healthy: its failures are only logged.
		dataverse.OpEnvironmentInfo: v1alpha1.ReasonWhoAmIFailed,
	}

	// trustOutcomes: only a change to the connection, or to the operator's extra-host
	// flags, makes a refused URL acceptable.
	trustOutcomes = map[trust.Kind]outcome{
		trust.KindAuthority:   {v1alpha1.ReasonAuthorityNotTrusted, true},
		trust.KindEnvironment: {v1alpha1.ReasonEnvironmentNotTrusted, true},
	}
)

// opReason in dataverseOutcomes stands for the failed call's own reason.
const opReason = ""

// entraOutcome returns what an entra.Kind means; a kind without a mapping (a test keeps
// the table complete) is a transient failure with fallbackReason.
func entraOutcome(kind entra.Kind, fallbackReason string) outcome {
	if o, ok := entraOutcomes[kind]; ok {
		return o
	}
	return outcome{reason: fallbackReason}
}

// dataverseOutcome returns what a Dataverse error means, as entraOutcome does.
func dataverseOutcome(e *dataverse.Error, fallbackReason string) outcome {
	o, ok := dataverseOutcomes[e.Kind]
	if !ok {
		return outcome{reason: fallbackReason}
	}
	if o.reason == opReason {
		o.reason = dataverseOpReasons[e.Op]
		if o.reason == "" {
			o.reason = fallbackReason
		}
	}
	return o
}

// trustOutcome returns what a trust refusal means, as entraOutcome does.
func trustOutcome(kind trust.Kind, fallbackReason string) outcome {
	if o, ok := trustOutcomes[kind]; ok {
		return o
	}
	return outcome{reason: fallbackReason}
}
