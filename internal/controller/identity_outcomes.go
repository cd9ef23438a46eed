package controller

import (
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/entra"
)

// identityOutcomes is what Entra ID last answered to each ClusterD365Identity's token
// requests, made by the connections that use it; the identity controller turns it into the
// identity's Ready condition and lastFailure. It lives in memory: after a restart the first
// token request fills it again, and status.lastFailure keeps the last refusal meanwhile.
type identityOutcomes struct {
	mu     sync.Mutex
	byName map[string]identityOutcome
	// changed wakes the identity controller (a channel source); a full buffer drops the
	// wake-up, which the next change or the identity's own events make up for.
	changed chan event.GenericEvent
}

// identityOutcome is one identity's last acceptance and last refusal.
type identityOutcome struct {
	accepted time.Time
	failure  *v1alpha1.IdentityFailure
}

// identityOutcomeBuffer is how many wake-ups wait for the identity controller.
const identityOutcomeBuffer = 1024

func newIdentityOutcomes() *identityOutcomes {
	return &identityOutcomes{byName: map[string]identityOutcome{}, changed: make(chan event.GenericEvent, identityOutcomeBuffer)}
}

// accepted records a token Entra ID issued for the identity.
func (o *identityOutcomes) accepted(identity string, at time.Time) {
	o.update(identity, func(out *identityOutcome) bool {
		first := out.accepted.IsZero() || (out.failure != nil && !out.failure.Time.After(at))
		out.accepted = at
		return first
	})
}

// refused records a credential Entra ID refused (a terminal sign-in failure); throttling
// and outages say nothing about the identity and are not recorded.
func (o *identityOutcomes) refused(identity string, at time.Time, failed *stepError, err error) {
	failure := &v1alpha1.IdentityFailure{Time: metav1.NewTime(at), Reason: failed.Reason, Message: failed.Message}
	if ee, ok := errors.AsType[*entra.Error](err); ok && ee.AADSTS != 0 {
		failure.Code = fmt.Sprintf("AADSTS%d", ee.AADSTS)
	}
	o.update(identity, func(out *identityOutcome) bool {
		changed := out.failure == nil || out.failure.Reason != failure.Reason || out.failure.Code != failure.Code ||
			!out.accepted.Before(out.failure.Time.Time)
		out.failure = failure
		return changed
	})
}

// update applies change and wakes the identity controller when it says the outcome changed.
func (o *identityOutcomes) update(identity string, change func(*identityOutcome) bool) {
	o.mu.Lock()
	out := o.byName[identity]
	changed := change(&out)
	o.byName[identity] = out
	o.mu.Unlock()
	if !changed {
		return
	}
	wake := &v1alpha1.ClusterD365Identity{}
	wake.Name = identity
	select {
	case o.changed <- event.GenericEvent{Object: wake}:
	default:
	}
}

// get returns an identity's outcome.
func (o *identityOutcomes) get(identity string) (identityOutcome, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out, ok := o.byName[identity]
	return out, ok
}

// forget drops a deleted identity's outcome.
func (o *identityOutcomes) forget(identity string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.byName, identity)
}
