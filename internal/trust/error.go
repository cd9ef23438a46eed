package trust

import "fmt"

// Kind is the kind of URL a Policy refused. It is this package's own vocabulary: callers
// decide what a refusal of each kind means for them (e.g. a condition reason).
type Kind string

// Kinds of URL a Policy checks.
const (
	// KindAuthority is an Entra ID authority: the host that receives the credential.
	KindAuthority Kind = "authority"
	// KindEnvironment is a Dataverse environment: the host a token is issued for and sent to.
	KindEnvironment Kind = "environment"
)

// Kinds lists every Kind, so that a caller's mapping can be checked for completeness.
func Kinds() []Kind {
	return []Kind{KindAuthority, KindEnvironment}
}

// Problems a Policy finds with a URL.
const (
	// ProblemUnknownHost: the host is neither built in nor an extra host.
	ProblemUnknownHost = "UnknownHost"
	// ProblemScheme: the URL is not https.
	ProblemScheme = "Scheme"
	// ProblemMalformed: the URL has no host, or carries user information.
	ProblemMalformed = "Malformed"
)

// Error is a refusal by the trust policy. It is terminal: only a change to the connection
// (or to the operator's extra-host flags) can make the same URL acceptable.
type Error struct {
	// Kind is KindAuthority or KindEnvironment.
	Kind Kind
	// Host is the refused host name (lower-cased, without port); empty when there was none.
	Host string
	// Scheme is the URL's scheme when Problem is ProblemScheme.
	Scheme string
	// Problem is one of the Problem* constants.
	Problem string
}

// Error says what was refused, why, and what to do about it.
func (e *Error) Error() string {
	what, allowed, flag := "authority", "Entra ID", "--extra-authority-hosts"
	purpose := "tokens are only requested from Entra ID"
	if e.Kind == KindEnvironment {
		what, allowed, flag = "environment", "Dataverse", "--extra-environment-hosts"
		purpose = "tokens are only requested for Dataverse environments (*.dynamics.com, *.microsoftdynamics.us, *.appsplatform.us, *.dynamics.cn, *.microsoftdynamics.de)"
	}
	switch e.Problem {
	case ProblemScheme:
		return fmt.Sprintf("%s URL for host %s uses %q; credentials and tokens are only sent over https", what, e.Host, e.Scheme)
	case ProblemMalformed:
		return fmt.Sprintf("%s URL is not usable: it needs a host name and no user information", what)
	}
	return fmt.Sprintf("%s host %s is not a known %s host; %s (start the operator with %s to allow a private host)",
		what, e.Host, allowed, purpose, flag)
}
