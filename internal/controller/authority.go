package controller

import (
	"context"
	"net/url"
	"strings"
	"time"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/environment"
	"github.com/d365-operator/d365-operator/internal/sharedcall"
)

// discoveryTimeout bounds one shared discovery, which runs detached from the reconciles
// waiting for it; its request is bounded by the HTTP client's timeout too.
const discoveryTimeout = 2 * time.Minute

// discoveries shares authority discovery between connections: a thousand connections to
// one environment cause one challenge request, not a thousand. Entries live until the
// authority rejects a connection (forget), since an environment's tenant does not move.
type discoveries struct {
	byEnvURL *sharedcall.Cache[string, dataverse.Authority]
}

func newDiscoveries() *discoveries {
	return &discoveries{byEnvURL: sharedcall.New[string](sharedcall.Options[dataverse.Authority]{Timeout: discoveryTimeout})}
}

func (d *discoveries) discover(ctx context.Context, env Environment, envURL string) (dataverse.Authority, error) {
	a, err := d.byEnvURL.Get(ctx, envURL, nil, func(ctx context.Context) (dataverse.Authority, error) {
		return env.Discover(ctx, envURL)
	})
	if err != nil {
		return dataverse.Authority{}, err
	}
	return a, nil
}

func (d *discoveries) forget(envURL string) {
	d.byEnvURL.Forget(envURL)
}

// resolvedAuthority is where tokens come from and what they are for.
type resolvedAuthority struct {
	Authority string // https://login.microsoftonline.com/<tenant>/
	Resource  string // https://contoso.crm.dynamics.com/
}

// resolveAuthority finds the connection's authority and resource: from the spec (or the
// ClusterD365Identity's) when tenantID and authorityHost are both given, else from status (discovered before for the
// same URL: no request after a restart), else from the environment's 401 challenge. Given
// values override discovered ones. The authority is checked against the trust policy
// before any credential is used with it.
//
// Sets s.authority and status.tenantID, authority, resource and discoveredFor.
func (r *D365ConnectionReconciler) resolveAuthority(ctx context.Context, s *reconcileState) *stepError {
	envURL := s.env.URL()
	src, st := s.source, &s.conn.Status
	var host, tenant, resource string
	switch {
	case src.tenantID != "" && src.authorityHost != "" && s.env.Kind() != environment.OnlineManagementAPI:
		resource = envURL
	case st.DiscoveredFor == envURL && st.Authority != "" && st.Resource != "":
		if a, err := environment.ParseAuthority(st.Authority); err == nil {
			host, tenant = a.Origin(), a.Tenant()
		}
		resource = st.Resource
	default:
		found, err := r.discoveries.discover(ctx, r.Environments, envURL)
		if err != nil {
			return classify(err, v1alpha1.ReasonAuthorityDiscoveryFailed)
		}
		host, tenant, resource = found.AuthorityHost, found.TenantID, found.Resource
		st.DiscoveredFor = envURL
	}
	if src.authorityHost != "" {
		host = strings.TrimSuffix(src.authorityHost, "/")
	}
	if src.tenantID != "" {
		tenant = src.tenantID
	}
	authority := host + "/" + tenant + "/"
	u, err := url.Parse(authority)
	if err != nil {
		return terminal(v1alpha1.ReasonAuthorityDiscoveryFailed, "The authority %q is not a valid URL", authority)
	}
	if err := r.Trust.CheckAuthority(u); err != nil {
		return classify(err, v1alpha1.ReasonAuthorityNotTrusted)
	}
	st.TenantID, st.Authority, st.Resource = tenant, authority, resource
	s.authority = resolvedAuthority{Authority: authority, Resource: resource}
	return nil
}

// checkEnvironment parses spec.environmentURL once ("https://host/", its Web API URL and
// kind) and checks its host against the trust policy before anything is sent there.
// Sets s.env; a refusal is terminal.
func (r *D365ConnectionReconciler) checkEnvironment(_ context.Context, s *reconcileState) *stepError {
	env, err := environment.Parse(s.conn.Spec.EnvironmentURL)
	if err != nil {
		return terminal(v1alpha1.ReasonEnvironmentNotTrusted, "spec.environmentURL: %v", err)
	}
	s.env = env
	if err := r.Trust.CheckEnvironment(env.Root()); err != nil {
		return classify(err, v1alpha1.ReasonEnvironmentNotTrusted)
	}
	return nil
}
