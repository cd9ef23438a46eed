package simulator

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Run-time changes of the simulated world, for tests that change it between steps.
// Each method replaces the affected slices instead of editing them in place, so
// requests in flight keep a consistent copy. They panic when the named tenant, app,
// user or environment does not exist: that is a mistake in the test, not a
// condition to handle.

func (w *world) updateTenant(tenantID string, fn func(t *Tenant)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, t := range w.tenants {
		if t.ID == strings.ToLower(tenantID) || (t.Domain != "" && t.Domain == strings.ToLower(tenantID)) {
			c := *t
			fn(&c)
			w.tenants[i] = &c
			return
		}
	}
	panic(fmt.Sprintf("simulator: unknown tenant %q", tenantID))
}

func (w *world) updateApp(tenantID, clientID string, fn func(a *App)) {
	w.updateTenant(tenantID, func(t *Tenant) {
		apps := append([]App(nil), t.Apps...)
		for i := range apps {
			if apps[i].ClientID == strings.ToLower(clientID) {
				fn(&apps[i])
				t.Apps = apps
				return
			}
		}
		panic(fmt.Sprintf("simulator: unknown app %q in tenant %s", clientID, t.ID))
	})
}

func (w *world) updateUser(tenantID, upn string, fn func(u *User)) {
	w.updateTenant(tenantID, func(t *Tenant) {
		users := append([]User(nil), t.Users...)
		for i := range users {
			if users[i].UserPrincipalName == strings.ToLower(upn) || users[i].ObjectID == strings.ToLower(upn) {
				fn(&users[i])
				t.Users = users
				return
			}
		}
		panic(fmt.Sprintf("simulator: unknown user %q in tenant %s", upn, t.ID))
	})
}

func (w *world) updateEnvironment(host string, fn func(e *Environment)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, e := range w.envs {
		if e.Host == strings.ToLower(host) {
			c := *e
			fn(&c)
			w.envs[i] = &c
			return
		}
	}
	panic(fmt.Sprintf("simulator: unknown environment %q", host))
}

// SetAppSecrets replaces the client secrets of an app (none: secrets stop working).
func (s *Server) SetAppSecrets(tenantID, clientID string, secrets ...Secret) {
	s.world.updateApp(tenantID, clientID, func(a *App) { a.Secrets = append([]Secret(nil), secrets...) })
}

// SetAppCertificates replaces the certificates that verify an app's assertions.
func (s *Server) SetAppCertificates(tenantID, clientID string, certs ...*x509.Certificate) {
	s.world.updateApp(tenantID, clientID, func(a *App) { a.Certificates = append([]*x509.Certificate(nil), certs...) })
}

// SetFederatedCredentials replaces the federated identity credentials of an app.
// It panics on an invalid credential (missing issuer or subject, bad JWKS).
func (s *Server) SetFederatedCredentials(tenantID, clientID string, creds ...FederatedCredential) {
	norm, err := normalizeFederated(creds)
	if err != nil {
		panic("simulator: " + err.Error())
	}
	s.world.updateApp(tenantID, clientID, func(a *App) { a.FederatedCredentials = norm })
}

// SetAllowPublicClient switches "Allow public client flows" of an app.
func (s *Server) SetAllowPublicClient(tenantID, clientID string, on bool) {
	s.world.updateApp(tenantID, clientID, func(a *App) { a.AllowPublicClient = on })
}

// SetUserPassword changes a user's password. Like a password reset in the Entra
// admin center, it revokes the user's refresh tokens.
func (s *Server) SetUserPassword(tenantID, upn, password string) {
	var oid, tid string
	s.world.updateUser(tenantID, upn, func(u *User) { u.Password, oid = password, u.ObjectID })
	s.world.mu.RLock()
	tid = s.world.tenant(tenantID).ID
	s.world.mu.RUnlock()
	s.revoke(tid, oid)
}

// RevokeRefreshTokens revokes every refresh token of a user issued until now
// (AADSTS50173 on redemption), like revoking sessions in the admin center.
func (s *Server) RevokeRefreshTokens(tenantID, upn string) {
	p, err := s.principalForUser(tenantID, upn)
	if err != nil {
		panic(err.Error())
	}
	s.revoke(p.tenant.ID, p.user.ObjectID)
}

func (s *Server) revoke(tenantID, oid string) { s.grants.revoke(tenantID, oid, s.now()) }

// IssueRefreshToken mints a refresh token for a user through an app, as an
// interactive sign-in would (e.g. to seed the token cache a `login` command writes).
// The home account id MSAL derives for the user is "<user oid>.<tenant id>".
func (s *Server) IssueRefreshToken(tenantID, clientID, upn string) (string, error) {
	p, err := s.principalFor(tenantID, clientID, upn)
	if err != nil {
		return "", err
	}
	return s.grants.newRefreshToken(p.tenant.ID, p.app.ClientID, p.user.ObjectID, s.now()), nil
}

func (s *Server) principalForUser(tenantID, upn string) (principal, error) {
	s.world.mu.RLock()
	var t Tenant
	found := s.world.tenant(tenantID)
	if found != nil {
		t = *found
	}
	s.world.mu.RUnlock()
	if found == nil {
		return principal{}, fmt.Errorf("simulator: unknown tenant %q", tenantID)
	}
	u, ok := t.user(upn)
	if !ok {
		return principal{}, fmt.Errorf("simulator: unknown user %q in tenant %s", upn, t.ID)
	}
	return principal{tenant: t, user: &u}, nil
}

// AddApplicationUser makes an app an application user of an environment (or
// replaces the existing binding of that client id).
func (s *Server) AddApplicationUser(envHost string, u ApplicationUser) {
	u.ClientID = strings.ToLower(u.ClientID)
	if u.UserID == "" {
		u.UserID = derivedGUID("systemuser", strings.ToLower(envHost), u.ClientID)
	}
	s.world.updateEnvironment(envHost, func(e *Environment) {
		e.ApplicationUsers = append([]ApplicationUser{u},
			slices.DeleteFunc(slices.Clone(e.ApplicationUsers), func(x ApplicationUser) bool { return x.ClientID == u.ClientID })...)
	})
}

// RemoveApplicationUser removes an app's application user from an environment; its
// tokens then get 403 0x80072560.
func (s *Server) RemoveApplicationUser(envHost, clientID string) {
	clientID = strings.ToLower(clientID)
	s.world.updateEnvironment(envHost, func(e *Environment) {
		e.ApplicationUsers = slices.DeleteFunc(slices.Clone(e.ApplicationUsers), func(x ApplicationUser) bool { return x.ClientID == clientID })
	})
}

// SetAdminMode switches an environment's administration mode.
func (s *Server) SetAdminMode(envHost string, on bool) {
	s.world.updateEnvironment(envHost, func(e *Environment) { e.AdminMode = on })
}

// SetTokenLifetime changes the lifetime of tokens issued from now on (d <= 0 restores
// the default).
func (s *Server) SetTokenLifetime(d time.Duration) {
	if d <= 0 {
		d = DefaultTokenLifetime
	}
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	s.world.lifetime = d
}
