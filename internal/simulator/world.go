package simulator

import (
	"crypto/sha1" //nolint:gosec // name-based (version 5) UUIDs are SHA-1 by definition
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// world is the mutable simulated state. Readers take copies under the read lock;
// writers never modify a slice in place but build a new one (copy-on-write), so a copy
// taken by a reader stays consistent while a test changes the world.
type world struct {
	mu         sync.RWMutex
	tenants    []*Tenant
	envs       []*Environment
	extraHosts []string
	lifetime   time.Duration
	refreshIn  time.Duration
}

var (
	guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	hostRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
)

// derivedGUID makes a stable GUID from names, for ids a config leaves out: the same
// config always yields the same ids, so demo output is reproducible.
func derivedGUID(parts ...string) string {
	sum := sha1.Sum([]byte(strings.Join(parts, "\x00"))) //nolint:gosec // UUIDv5, not a security use
	sum[6] = sum[6]&0x0f | 0x50                          // version 5 (name-based, SHA-1)
	sum[8] = sum[8]&0x3f | 0x80                          // RFC 4122 variant
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func validHost(h string) bool { return len(h) <= 253 && hostRE.MatchString(h) }

// newWorld validates cfg and returns the normalized state: lower-case hosts and GUIDs,
// defaults filled in, PEM certificates and JWKS keys parsed.
func newWorld(cfg Config) (*world, error) {
	w := &world{lifetime: cfg.TokenLifetime, refreshIn: cfg.RefreshIn}
	if w.lifetime <= 0 {
		w.lifetime = DefaultTokenLifetime
	}
	// A host answers as one thing only: as Entra ID (for any number of tenants) or as one
	// environment.
	served := map[string]bool{}
	errs := w.addTenants(cfg.Tenants, served)
	errs = append(errs, w.addEnvironments(cfg.Environments, served)...)
	errs = append(errs, w.addExtraHosts(cfg.ExtraHosts, served)...)
	return w, errors.Join(errs...)
}

// addTenants adds the valid tenants and marks their authority hosts served. A GUID or a
// domain names one tenant only.
func (w *world) addTenants(tenants []Tenant, served map[string]bool) []error {
	var errs []error
	seen := map[string]bool{}
	for i := range tenants {
		t, err := normalizeTenant(tenants[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("tenants[%d]: %w", i, err))
			continue
		}
		for _, key := range []string{t.ID, t.Domain} {
			if key != "" && seen[key] {
				errs = append(errs, fmt.Errorf("tenants[%d]: %q is used by two tenants", i, key))
			}
			seen[key] = true
		}
		served[t.AuthorityHost] = true
		w.tenants = append(w.tenants, t)
	}
	return errs
}

// addEnvironments adds the valid environments of configured tenants on hosts not served
// yet. The caller adds the tenants first.
func (w *world) addEnvironments(envs []Environment, served map[string]bool) []error {
	var errs []error
	for i := range envs {
		e := envs[i]
		e.Host = strings.ToLower(strings.TrimSpace(e.Host))
		e.TenantID = strings.ToLower(e.TenantID)
		switch {
		case !validHost(e.Host):
			errs = append(errs, fmt.Errorf("environments[%d]: invalid host %q", i, e.Host))
			continue
		case w.tenant(e.TenantID) == nil:
			errs = append(errs, fmt.Errorf("environments[%d] (%s): tenant %q is not configured", i, e.Host, e.TenantID))
			continue
		case served[e.Host]:
			errs = append(errs, fmt.Errorf("environments[%d]: host %q is used twice", i, e.Host))
			continue
		}
		served[e.Host] = true
		normalizeEnvironment(&e)
		w.envs = append(w.envs, &e)
	}
	return errs
}

// normalizeEnvironment lower-cases the GUIDs of a validated environment and fills in its
// defaults: ids derived from the host, and the administration mode refusal Dataverse sends.
func normalizeEnvironment(e *Environment) {
	e.OrganizationID = strings.ToLower(e.OrganizationID)
	e.BusinessUnitID = strings.ToLower(e.BusinessUnitID)
	if e.OrganizationID == "" {
		e.OrganizationID = derivedGUID("organization", e.Host)
	}
	if e.BusinessUnitID == "" {
		e.BusinessUnitID = derivedGUID("businessunit", e.Host)
	}
	if e.AdminModeStatus == 0 {
		e.AdminModeStatus = 403
	}
	if e.AdminModeErrorCode == "" {
		e.AdminModeErrorCode = "0x80040220"
	}
	normalizeOrganization(e)
	e.ApplicationUsers = withSystemUserIDs(e.Host, e.ApplicationUsers,
		func(u *ApplicationUser) (key, userID *string) { return &u.ClientID, &u.UserID })
	e.Users = withSystemUserIDs(e.Host, e.Users,
		func(u *EnvironmentUser) (key, userID *string) { return &u.ObjectID, &u.UserID })
}

// withSystemUserIDs returns a copy of an environment's users (so that filling in ids never
// writes into the caller's Config) with each user's key (client or object id) lower-cased
// and a missing system user id derived from the host and that key.
func withSystemUserIDs[U any](host string, users []U, fields func(*U) (key, userID *string)) []U {
	users = append([]U(nil), users...)
	for j := range users {
		key, userID := fields(&users[j])
		*key = strings.ToLower(*key)
		if *userID == "" {
			*userID = derivedGUID("systemuser", host, *key)
		}
	}
	return users
}

// addExtraHosts adds the valid extra authority hosts that nothing serves yet.
func (w *world) addExtraHosts(hosts []string, served map[string]bool) []error {
	var errs []error
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if !validHost(h) {
			errs = append(errs, fmt.Errorf("extraHosts: invalid host %q", h))
			continue
		}
		if served[h] {
			continue // already served; an extra entry changes nothing
		}
		served[h] = true
		w.extraHosts = append(w.extraHosts, h)
	}
	return errs
}

func normalizeTenant(t Tenant) (*Tenant, error) {
	t.ID = strings.ToLower(strings.TrimSpace(t.ID))
	t.Domain = strings.ToLower(strings.TrimSpace(t.Domain))
	t.AuthorityHost = strings.ToLower(strings.TrimSpace(t.AuthorityHost))
	if t.AuthorityHost == "" {
		t.AuthorityHost = DefaultAuthorityHost
	}
	switch {
	case !guidRE.MatchString(t.ID):
		return nil, fmt.Errorf("tenant id %q is not a GUID", t.ID)
	case !validHost(t.AuthorityHost):
		return nil, fmt.Errorf("invalid authority host %q", t.AuthorityHost)
	case t.Domain == "common" || t.Domain == "organizations" || t.Domain == "consumers":
		return nil, fmt.Errorf("domain %q is reserved", t.Domain)
	}
	if t.DisplayName == "" {
		t.DisplayName = t.Domain
	}
	if t.DisplayName == "" {
		t.DisplayName = t.ID
	}
	t.Apps = append([]App(nil), t.Apps...)
	seen := map[string]bool{}
	for i := range t.Apps {
		if err := normalizeApp(t.ID, &t.Apps[i]); err != nil {
			return nil, fmt.Errorf("apps[%d]: %w", i, err)
		}
		if seen[t.Apps[i].ClientID] {
			return nil, fmt.Errorf("apps[%d]: client id %q is used twice", i, t.Apps[i].ClientID)
		}
		seen[t.Apps[i].ClientID] = true
	}
	t.Users = append([]User(nil), t.Users...)
	for i := range t.Users {
		u := &t.Users[i]
		u.UserPrincipalName = strings.ToLower(strings.TrimSpace(u.UserPrincipalName))
		if u.UserPrincipalName == "" {
			return nil, fmt.Errorf("users[%d]: userPrincipalName is empty", i)
		}
		u.ObjectID = strings.ToLower(u.ObjectID)
		if u.ObjectID == "" {
			u.ObjectID = derivedGUID("user", t.ID, u.UserPrincipalName)
		}
		if u.DisplayName == "" {
			u.DisplayName = u.UserPrincipalName
		}
	}
	return &t, nil
}

func normalizeApp(tenantID string, a *App) error {
	a.ClientID = strings.ToLower(strings.TrimSpace(a.ClientID))
	if a.ClientID == "" {
		return errors.New("clientID is empty")
	}
	a.ObjectID = strings.ToLower(a.ObjectID)
	if a.ObjectID == "" {
		a.ObjectID = derivedGUID("serviceprincipal", tenantID, a.ClientID)
	}
	a.Secrets = append([]Secret(nil), a.Secrets...)
	a.Certificates = append(slices.Clip(a.Certificates), nil...)
	for i, p := range a.CertificatesPEM {
		certs, err := parseCertificatesPEM([]byte(p))
		if err != nil {
			return fmt.Errorf("certificatesPEM[%d]: %w", i, err)
		}
		a.Certificates = append(a.Certificates, certs...)
	}
	creds, err := normalizeFederated(a.FederatedCredentials)
	a.FederatedCredentials = creds
	return err
}

func normalizeFederated(in []FederatedCredential) ([]FederatedCredential, error) {
	out := make([]FederatedCredential, len(in))
	for i, f := range in {
		if f.Audience == "" {
			f.Audience = "api://AzureADTokenExchange"
		}
		f.Keys = append(slices.Clip(f.Keys), nil...)
		if f.JWKS != "" {
			keys, err := parseJWKS([]byte(f.JWKS))
			if err != nil {
				return nil, fmt.Errorf("federatedCredentials[%d].jwks: %w", i, err)
			}
			f.Keys = append(f.Keys, keys...)
		}
		if f.Issuer == "" || f.Subject == "" {
			return nil, fmt.Errorf("federatedCredentials[%d]: issuer and subject are required", i)
		}
		out[i] = f
	}
	return out, nil
}

// tenant returns the tenant with this GUID or domain. The caller holds the lock or
// owns the world (during construction).
func (w *world) tenant(key string) *Tenant {
	key = strings.ToLower(key)
	for _, t := range w.tenants {
		if t.ID == key || (t.Domain != "" && t.Domain == key) {
			return t
		}
	}
	return nil
}

// tenantAt returns a copy of the tenant addressed by a URL path segment on an
// authority host. A tenant lives in one cloud: login.microsoftonline.us does not
// know a commercial tenant, but the aliases of its own host do.
func (w *world) tenantAt(host, seg string) (Tenant, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	t := w.tenant(seg)
	if t == nil || !sameCloud(host, t.AuthorityHost) {
		return Tenant{}, false
	}
	return *t, true
}

// tenantsAt returns copies of all tenants served on an authority host.
func (w *world) tenantsAt(host string) []Tenant {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []Tenant
	for _, t := range w.tenants {
		if sameCloud(host, t.AuthorityHost) {
			out = append(out, *t)
		}
	}
	return out
}

// environment returns a copy of the environment with this host.
func (w *world) environment(host string) (Environment, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, e := range w.envs {
		if e.Host == host {
			return *e, true
		}
	}
	return Environment{}, false
}

// authorityHostOf returns the authority host of a tenant by GUID.
func (w *world) authorityHostOf(tenantID string) string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if t := w.tenant(tenantID); t != nil {
		return t.AuthorityHost
	}
	return DefaultAuthorityHost
}

// isAuthorityHost reports whether requests to host are answered as Entra ID.
func (w *world) isAuthorityHost(host string) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, t := range w.tenants {
		if t.AuthorityHost == host {
			return true
		}
	}
	return slices.Contains(w.extraHosts, host)
}

// hosts returns every served host name, sorted by kind: authority hosts, extra
// hosts, then environment hosts.
func (w *world) hosts() []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for _, t := range w.tenants {
		add(t.AuthorityHost)
	}
	for _, h := range w.extraHosts {
		add(h)
	}
	for _, e := range w.envs {
		add(e.Host)
	}
	return out
}

func (w *world) tokenLifetime() (lifetime, refreshIn time.Duration) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.lifetime, w.refreshIn
}

func (t Tenant) app(clientID string) (App, bool) {
	clientID = strings.ToLower(clientID)
	for _, a := range t.Apps {
		if a.ClientID == clientID {
			return a, true
		}
	}
	return App{}, false
}

func (t Tenant) user(upn string) (User, bool) {
	upn = strings.ToLower(upn)
	for _, u := range t.Users {
		if u.UserPrincipalName == upn || u.ObjectID == upn {
			return u, true
		}
	}
	return User{}, false
}
