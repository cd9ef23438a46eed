package controller

import (
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/entra"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// stepError is a failed step, mapped to what the status shows. Errors from every outside
// system are mapped here, in one place (classify), so each step only says which
// condition its failure lands on.
type stepError struct {
	Reason  string
	Message string
	// Terminal: retrying without a change by the user (spec, a referenced Secret, the app
	// registration) cannot help; the connection is Stalled and not requeued.
	Terminal bool
	// RetryAfter is the server's instruction (429/503), honoured as a lower bound.
	RetryAfter time.Duration
}

func (e *stepError) Error() string { return e.Reason + ": " + e.Message }

// terminal builds a stepError that waits for the user.
func terminal(reason, format string, args ...any) *stepError {
	return &stepError{Reason: reason, Message: fmt.Sprintf(format, args...), Terminal: true}
}

// classify maps an error from Entra ID, Dataverse, the trust policy or the API server to a
// condition reason and an actionable message (error_reasons.go maps the wire packages'
// kinds). None of these errors carries a secret: the packages that produce them build
// their messages without request bodies or tokens.
func classify(err error, fallbackReason string) *stepError {
	var se *stepError
	var ee *entra.Error
	var de *dataverse.Error
	var te *trust.Error
	switch {
	case errors.As(err, &se):
		return se
	case errors.As(err, &ee):
		o := entraOutcome(ee.Kind, fallbackReason)
		return &stepError{Reason: o.reason, Message: ee.Message, Terminal: o.terminal, RetryAfter: ee.RetryAfter}
	case errors.As(err, &de):
		o := dataverseOutcome(de, fallbackReason)
		return &stepError{Reason: o.reason, Message: de.Message, Terminal: o.terminal, RetryAfter: de.RetryAfter}
	case errors.As(err, &te):
		o := trustOutcome(te.Kind, fallbackReason)
		return &stepError{Reason: o.reason, Message: te.Error(), Terminal: o.terminal}
	case apierrors.IsConflict(err):
		return &stepError{Reason: v1alpha1.ReasonProgressing, Message: "The output Secret changed while it was being written; retrying"}
	default:
		return &stepError{Reason: fallbackReason, Message: err.Error()}
	}
}
