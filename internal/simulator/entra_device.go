package simulator

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
)

// serveDeviceCode answers POST /{tenant}/oauth2/v2.0/devicecode (RFC 8628), the
// endpoint MSAL derives from the token endpoint by replacing "token" with
// "devicecode". The user approves on the simulator's own page
// (https://<host>/common/oauth2/deviceauth) or a test calls ApproveDeviceCode.
func (s *Server) serveDeviceCode(w http.ResponseWriter, r *http.Request, host, seg string) {
	if r.Method != http.MethodPost {
		s.writeOAuthError(w, r, errPostOnly(r.Method))
		return
	}
	tr := &tokenRequest{r: r, host: host, seg: seg, form: r.PostForm, clientID: strings.ToLower(r.PostForm.Get("client_id"))}
	if tr.form == nil {
		tr.form = url.Values{}
	}
	if !isMultiTenant(seg) {
		t, ok := s.world.tenantAt(host, seg)
		if !ok {
			s.writeOAuthError(w, r, errUnknownTenant(seg))
			return
		}
		tr.tenant = t
	}
	if tr.clientID == "" {
		s.writeOAuthError(w, r, errMissingParam("client_id"))
		return
	}
	if tr.tenant.ID != "" {
		if _, e := tr.app(); e != nil {
			s.writeOAuthError(w, r, e)
			return
		}
	}
	if e := s.parseResource(tr, false); e != nil {
		s.writeOAuthError(w, r, e)
		return
	}
	dc, uc := s.grants.newDeviceCode(deviceGrant{host: host, tenantID: tr.tenant.ID, clientID: tr.clientID, scope: tr.form.Get("scope")}, s.now())
	verify := "https://" + host + "/common/oauth2/deviceauth"
	entraHeaders(w, newGUID())
	_ = writeJSONBody(w, struct {
		UserCode        string `json:"user_code"`
		DeviceCode      string `json:"device_code"`
		VerificationURI string `json:"verification_uri"`
		ExpiresIn       int    `json:"expires_in"`
		Interval        int    `json:"interval"`
		Message         string `json:"message"`
	}{uc, dc, verify, int(deviceCodeTTL.Seconds()), 5,
		fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, uc)})
}

// ApproveDeviceCode signs in the user upn for a pending device code, as the user
// would in a browser (interactive sign-in satisfies MFA). The next poll gets tokens.
func (s *Server) ApproveDeviceCode(userCode, upn string) error {
	d, ok := s.grants.deviceByUserCode(userCode, s.now())
	if !ok {
		return fmt.Errorf("simulator: no pending device code %q", userCode)
	}
	t, u, err := s.findUser(d.host, d.tenantID, upn)
	if err != nil {
		return err
	}
	return s.grants.decideDevice(userCode, t.ID, u.ObjectID, s.now())
}

// DenyDeviceCode declines a pending device code: the next poll gets
// authorization_declined.
func (s *Server) DenyDeviceCode(userCode string) error {
	return s.grants.decideDevice(userCode, "", "", s.now())
}

// findUser finds upn in tenantID, or (tenantID "") in any tenant of the host.
func (s *Server) findUser(host, tenantID, upn string) (Tenant, User, error) {
	for _, t := range s.world.tenantsAt(host) {
		if tenantID != "" && t.ID != tenantID {
			continue
		}
		if u, ok := t.user(upn); ok {
			return t, u, nil
		}
	}
	return Tenant{}, User{}, fmt.Errorf("simulator: user %q not found", upn)
}

// serveDeviceAuthPage is the simulator's stand-in for microsoft.com/devicelogin: a
// form for the user code and the user's credentials.
func (s *Server) serveDeviceAuthPage(w http.ResponseWriter, r *http.Request, host string) {
	if r.Method != http.MethodPost {
		writePage(w, http.StatusOK, "Enter code", deviceForm(""))
		return
	}
	code, user, pw := r.PostForm.Get("user_code"), r.PostForm.Get("username"), r.PostForm.Get("password")
	d, ok := s.grants.deviceByUserCode(code, s.now())
	if !ok {
		writePage(w, http.StatusBadRequest, "Enter code", deviceForm("That code didn't work. Check the code and try again."))
		return
	}
	if r.PostForm.Get("deny") != "" {
		_ = s.DenyDeviceCode(code)
		writePage(w, http.StatusOK, "Declined", "<p>You declined the sign-in.</p>")
		return
	}
	t, u, err := s.findUser(host, d.tenantID, user)
	if err != nil || u.Password == "" || !constantTimeEqual(u.Password, pw) {
		writePage(w, http.StatusOK, "Enter code", deviceForm("Your account or password is incorrect."))
		return
	}
	if err := s.grants.decideDevice(code, t.ID, u.ObjectID, s.now()); err != nil {
		writePage(w, http.StatusBadRequest, "Enter code", deviceForm("That code has expired."))
		return
	}
	writePage(w, http.StatusOK, "Signed in", "<p>You have signed in on your device. You may now close this window.</p>")
}

func deviceForm(msg string) string {
	return errParagraph(msg) + `<form method="post"><p><label>Code <input name="user_code"></label></p>` +
		`<p><label>User <input name="username"></label></p><p><label>Password <input name="password" type="password"></label></p>` +
		`<p><button type="submit">Sign in</button> <button type="submit" name="deny" value="1">Deny</button></p></form>`
}

func errParagraph(msg string) string {
	if msg == "" {
		return ""
	}
	return `<p class="error">` + html.EscapeString(msg) + `</p>`
}

// writePage writes a small HTML page; body is trusted (already escaped) HTML.
func writePage(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	//nolint:gosec // title is escaped here; body is built by the callers with html.EscapeString
	_, _ = fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>%s</title></head><body><h1>%s</h1>%s<p><small>d365-operator simulator of Microsoft Entra ID</small></p></body></html>",
		html.EscapeString(title), html.EscapeString(title), body)
}

var errNotLoopback = errors.New("simulator: redirect URI is not a loopback address")
