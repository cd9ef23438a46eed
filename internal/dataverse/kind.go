package dataverse

// Op names the call an *Error comes from: the same kind of failure can mean different
// things in authority discovery and in a health check.
type Op string

// Operations of a Client.
const (
	// OpDiscover is Discover, the unauthenticated challenge probe.
	OpDiscover Op = "discover"
	// OpWhoAmI is WhoAmI, the authenticated health check.
	OpWhoAmI Op = "whoami"
	// OpUserPrivileges is RetrieveUserPrivileges (and, where the answer lacks names, the
	// read of the privileges entity set that resolves them).
	OpUserPrivileges Op = "userprivileges"
	// OpEnvironmentInfo is RetrieveVersion or RetrieveCurrentOrganization.
	OpEnvironmentInfo Op = "environmentinfo"
)

// response names the documented answer of an Op, for messages.
func (o Op) response() string {
	switch o {
	case OpUserPrivileges:
		return "RetrieveUserPrivilegesResponse"
	case OpEnvironmentInfo:
		return "RetrieveVersionResponse or RetrieveCurrentOrganizationResponse"
	}
	return "WhoAmIResponse"
}

// function names the Web API function an Op calls, for messages.
func (o Op) function() string {
	switch o {
	case OpWhoAmI:
		return "WhoAmI"
	case OpUserPrivileges:
		return "RetrieveUserPrivileges"
	case OpEnvironmentInfo:
		return "RetrieveVersion or RetrieveCurrentOrganization"
	}
	return string(o)
}

// Kind says what went wrong with a Dataverse call. It is this package's own vocabulary:
// callers decide what a kind means for them (a condition reason, whether to retry).
type Kind string

// Kinds of *Error.
const (
	// Throttled: a service protection limit was hit (429, or 503 with Retry-After).
	Throttled Kind = "Throttled"
	// Unavailable: the environment could not be reached, timed out, or answered 5xx.
	Unavailable Kind = "Unavailable"
	// TokenRejected: the environment refused the access token (401); a new token may pass.
	TokenRejected Kind = "TokenRejected"
	// ApplicationUserNotFound: the app is not an application user of the environment.
	ApplicationUserNotFound Kind = "ApplicationUserNotFound"
	// AccessDenied: the environment refused the application user (403).
	AccessDenied Kind = "AccessDenied"
	// AdminMode: the environment is in administration mode and admits administrators only.
	AdminMode Kind = "AdminMode"
	// PrivilegeDenied: the application user lacks a privilege the call needs (403
	// 0x80040220, "Principal user … is missing prvX privilege"); Error.Privilege names it.
	PrivilegeDenied Kind = "PrivilegeDenied"
	// InvalidRequest: the call was not made: the environment URL is malformed or there is
	// no access token to send.
	InvalidRequest Kind = "InvalidRequest"
	// NoChallenge: the environment answered the unauthenticated probe without a usable
	// bearer challenge (another status, no challenge, or one naming no tenant or resource).
	NoChallenge Kind = "NoChallenge"
	// UnexpectedAnswer: an authenticated call was answered with another status or an
	// unreadable body.
	UnexpectedAnswer Kind = "UnexpectedAnswer"
)

// Kinds lists every Kind, so that a caller's mapping can be checked for completeness.
func Kinds() []Kind {
	return []Kind{
		Throttled, Unavailable, TokenRejected, ApplicationUserNotFound, AccessDenied, AdminMode,
		PrivilegeDenied, InvalidRequest, NoChallenge, UnexpectedAnswer,
	}
}

// Ops lists every Op.
func Ops() []Op {
	return []Op{OpDiscover, OpWhoAmI, OpUserPrivileges, OpEnvironmentInfo}
}
