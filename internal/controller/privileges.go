package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/sharedcall"
)

// privilegeChecks shares RetrieveUserPrivileges between connections holding the same token
// for the same environment, as whoAmIs shares WhoAmI: the answer (what the user holds) is
// the same for all of them, and each compares it with its own requiredPrivileges. An answer
// stands for the asking connection's health interval, so a thousand connections of one
// identity make one call per interval (and one per new token).
type privilegeChecks struct {
	callers *callerTime
	recent  *sharedcall.Cache[string, privilegeAnswer]
}

type privilegeAnswer struct {
	at   time.Time
	held []dataverse.Privilege
}

// privilegeAnswerTTL bounds how long an answer is kept: the longest health interval.
const privilegeAnswerTTL = 24 * time.Hour

func newPrivilegeChecks() *privilegeChecks {
	callers := &callerTime{}
	recent := sharedcall.New[string](sharedcall.Options[privilegeAnswer]{
		Timeout: whoAmITimeout, TTL: privilegeAnswerTTL, Idle: 2 * time.Hour, CacheErrors: true, Clock: callers,
	})
	return &privilegeChecks{callers: callers, recent: recent}
}

// held returns the privileges userID holds, asked with accessToken at most maxAge before now.
func (p *privilegeChecks) held(ctx context.Context, env Environment, envURL, accessToken, userID string, now time.Time, maxAge time.Duration) ([]dataverse.Privilege, error) {
	sum := sha256.Sum256([]byte(accessToken))
	key := envURL + "\x00" + hex.EncodeToString(sum[:]) + "\x00" + userID
	p.callers.saw(now)
	fresh := func(a privilegeAnswer) bool { return now.Sub(a.at) < maxAge }
	a, err := p.recent.Get(ctx, key, fresh, func(ctx context.Context) (privilegeAnswer, error) {
		up, err := env.RetrieveUserPrivileges(ctx, envURL, accessToken, userID)
		recordBudget(envURL, userID, up.Budget)
		recordThrottle(envURL, err)
		return privilegeAnswer{at: now, held: up.Privileges}, err
	})
	return a.held, err
}

// checkPrivileges fails with MissingPrivileges when the WhoAmI user lacks a privilege of
// spec.healthCheck.requiredPrivileges; with none required it makes no call. A failing
// connection takes answers at most a minute old, so a granted role shows up quickly.
func (r *D365ConnectionReconciler) checkPrivileges(ctx context.Context, s *reconcileState, who dataverse.Identity, interval time.Duration) error {
	required := s.conn.Spec.HealthCheck.RequiredPrivileges
	if len(required) == 0 {
		return nil
	}
	maxAge := interval
	if !conditionTrue(s.conn, v1alpha1.ConditionHealthy) {
		maxAge = min(interval, time.Minute)
	}
	held, err := r.privileges.held(ctx, r.Environments, s.env.URL(), s.token.AccessToken, who.UserID, s.now, maxAge)
	if err != nil {
		failed := classify(err, v1alpha1.ReasonPrivilegeCheckFailed)
		if failed.Reason == v1alpha1.ReasonMissingPrivileges {
			failed.Message = "Cannot check spec.healthCheck.requiredPrivileges: " + failed.Message
		}
		return failed
	}
	if missing := missingPrivileges(required, held); len(missing) > 0 {
		return terminal(v1alpha1.ReasonMissingPrivileges,
			"Application user %s lacks %d of the required privileges: %s. Assign it a security role that holds them, in the Power Platform admin center (Environments > the environment > Settings > Users + permissions > Application users > Manage roles)",
			who.UserID, len(missing), strings.Join(missing, ", "))
	}
	return nil
}

// missingPrivileges returns the required privileges the user does not hold, or holds at
// less than the required depth (Basic < Local < Deep < Global), as "name" or
// "name:Depth (holds Local)".
func missingPrivileges(required []v1alpha1.RequiredPrivilege, held []dataverse.Privilege) []string {
	best := map[string]dataverse.Depth{}
	for _, p := range held {
		d := p.Depth
		if d > dataverse.DepthGlobal {
			d = -1 // RecordFilter: held, but at no depth comparable with Basic..Global
		}
		if cur, ok := best[strings.ToLower(p.Name)]; !ok || d > cur {
			best[strings.ToLower(p.Name)] = d
		}
	}
	var missing []string
	for _, req := range required {
		name, depthName, withDepth := strings.Cut(string(req), ":")
		d, ok := best[strings.ToLower(name)]
		switch {
		case !ok:
			missing = append(missing, string(req))
		case withDepth:
			want, _ := dataverse.ParseDepth(depthName)
			if d < want {
				holds := d.String()
				if d < 0 {
					holds = dataverse.DepthRecordFilter.String()
				}
				missing = append(missing, fmt.Sprintf("%s (holds %s)", req, holds))
			}
		}
	}
	return missing
}
