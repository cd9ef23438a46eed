package controller

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/sharedcall"
)

// environmentInfoAge is how long status.environment stands before it is read again; a new
// organization id from WhoAmI reads it at once.
const environmentInfoAge = time.Hour

// environmentInfos shares RetrieveVersion and RetrieveCurrentOrganization per environment
// and organization: what an organization says about itself is the same for every
// connection that WhoAmI placed in it, so a thousand connections make two calls an hour.
type environmentInfos struct {
	callers *callerTime
	recent  *sharedcall.Cache[string, environmentInfoAnswer]
}

type environmentInfoAnswer struct {
	at   time.Time
	info v1alpha1.EnvironmentInfo
}

func newEnvironmentInfos() *environmentInfos {
	callers := &callerTime{}
	// Failures are kept too (for the hour): the description is informational.
	recent := sharedcall.New[string](sharedcall.Options[environmentInfoAnswer]{
		Timeout: whoAmITimeout, TTL: environmentInfoAge, CacheErrors: true, Clock: callers,
	})
	return &environmentInfos{callers: callers, recent: recent}
}

func (e *environmentInfos) get(ctx context.Context, env Environment, envURL, accessToken string, who dataverse.Identity, now time.Time) (v1alpha1.EnvironmentInfo, error) {
	e.callers.saw(now)
	fresh := func(a environmentInfoAnswer) bool { return now.Sub(a.at) < environmentInfoAge }
	a, err := e.recent.Get(ctx, envURL+"\x00"+who.OrganizationID, fresh, func(ctx context.Context) (environmentInfoAnswer, error) {
		v, err := env.RetrieveVersion(ctx, envURL, accessToken)
		recordBudget(envURL, who.UserID, v.Budget)
		recordThrottle(envURL, err)
		if err != nil {
			return environmentInfoAnswer{at: now}, err
		}
		org, err := env.RetrieveCurrentOrganization(ctx, envURL, accessToken)
		recordBudget(envURL, who.UserID, org.Budget)
		recordThrottle(envURL, err)
		info := v1alpha1.EnvironmentInfo{Version: v.Version, OrganizationName: org.URLName, UniqueName: org.UniqueName, FriendlyName: org.FriendlyName}
		return environmentInfoAnswer{at: now, info: info}, err
	})
	return a.info, err
}

// refreshEnvironmentInfo sets status.environment from the shared answer. A failure keeps
// what the status held: the description never decides Healthy.
func (r *D365ConnectionReconciler) refreshEnvironmentInfo(ctx context.Context, s *reconcileState, who dataverse.Identity) {
	info, err := r.envInfos.get(ctx, r.Environments, s.env.URL(), s.token.AccessToken, who, s.now)
	if err != nil {
		log.FromContext(ctx).V(1).Info("Cannot read the environment's description", "reason", classify(err, v1alpha1.ReasonWhoAmIFailed).Reason)
		return
	}
	if cur := s.conn.Status.Environment; cur == nil || *cur != info {
		s.conn.Status.Environment = &info
	}
}
