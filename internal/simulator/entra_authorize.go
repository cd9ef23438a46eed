package simulator

import (
	"context"
	"crypto/subtle"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// authorizeRequest is a checked request to /{tenant}/oauth2/v2.0/authorize.
type authorizeRequest struct {
	host, tenantID string // tenantID "" for /common and /organizations
	params         url.Values
	app            App
}

// checkAuthorize validates what cannot be reported to the redirect URI (tenant,
// client, redirect URI); those errors are shown on a page, as Entra ID does.
func (s *Server) checkAuthorize(host, seg string, q url.Values) (*authorizeRequest, *oauthError) {
	a := &authorizeRequest{host: host, params: q}
	clientID := strings.ToLower(q.Get("client_id"))
	if clientID == "" {
		return nil, errMissingParam("client_id")
	}
	found := false
	for _, t := range s.world.tenantsAt(host) {
		if !isMultiTenant(seg) && t.ID != strings.ToLower(seg) && t.Domain != strings.ToLower(seg) {
			continue
		}
		if !isMultiTenant(seg) {
			a.tenantID = t.ID
		}
		if app, ok := t.app(clientID); ok && !found {
			a.app, found = app, true
		}
	}
	if !isMultiTenant(seg) && a.tenantID == "" {
		return nil, errUnknownTenant(seg)
	}
	if !found {
		return nil, errUnknownApp(clientID, seg)
	}
	redirect := q.Get("redirect_uri")
	if !redirectAllowed(a.app, redirect) {
		return nil, &oauthError{400, "invalid_request", 50011, fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", redirect, clientID), "", ""}
	}
	return a, nil
}

// redirectAllowed: a registered URI, or any loopback http URI when none is registered
// (MSAL's interactive flow listens on http://localhost:<random port>).
func redirectAllowed(app App, redirect string) bool {
	if len(app.RedirectURIs) > 0 {
		return slices.Contains(app.RedirectURIs, redirect)
	}
	u, err := url.Parse(redirect)
	return err == nil && u.Scheme == "http" && isLoopbackHost(u.Hostname())
}

func isLoopbackHost(h string) bool {
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

// signIn issues the authorization code for a signed-in user and returns where and
// how the browser delivers it.
func (s *Server) signIn(a *authorizeRequest, t Tenant, u User) (target string, form url.Values, post bool) {
	q := a.params
	code := s.grants.newAuthCode(codeGrant{
		tenantID: t.ID, clientID: a.app.ClientID, userOID: u.ObjectID, redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), challengeMethod: q.Get("code_challenge_method"), scope: q.Get("scope"),
	}, s.now())
	form = url.Values{"code": {code}, "session_state": {newGUID()}}
	if st := q.Get("state"); st != "" {
		form.Set("state", st)
	}
	if q.Get("response_type") != "code" {
		form = url.Values{"error": {"unsupported_response_type"}, "error_description": {"AADSTS700054: response_type '" + q.Get("response_type") + "' is not enabled for the application."}, "state": {q.Get("state")}}
	}
	switch q.Get("response_mode") {
	case "form_post":
		return q.Get("redirect_uri"), form, true
	case "fragment":
		return q.Get("redirect_uri") + "#" + form.Encode(), nil, false
	}
	sep := "?"
	if strings.Contains(q.Get("redirect_uri"), "?") {
		sep = "&"
	}
	return q.Get("redirect_uri") + sep + form.Encode(), nil, false
}

// serveAuthorize is the sign-in page: GET shows a form, POST checks the user's
// credentials and sends the browser to the redirect URI with a code. Interactive
// sign-in satisfies MFA, so MFARequired users succeed here.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request, host, seg string) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		q = r.PostForm
	}
	a, e := s.checkAuthorize(host, seg, q)
	if e != nil {
		writePage(w, e.status, "Sign in", errParagraph(fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.message)))
		return
	}
	if r.Method != http.MethodPost {
		writePage(w, http.StatusOK, "Sign in", loginForm(q, ""))
		return
	}
	t, u, err := s.findUser(host, a.tenantID, q.Get("username"))
	if err != nil || u.Password == "" || !constantTimeEqual(u.Password, q.Get("password")) {
		writePage(w, http.StatusOK, "Sign in", loginForm(q, "Your account or password is incorrect."))
		return
	}
	target, form, post := s.signIn(a, t, u)
	if !post {
		// target is the client's registered (or loopback) redirect URI, checked in signIn:
		// redirecting there is the authorization code flow itself.
		http.Redirect(w, r, target, http.StatusFound) //nolint:gosec // G710: validated redirect_uri
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<form method="POST" name="hiddenform" action="%s">`, html.EscapeString(target))
	for k, vs := range form {
		fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(vs[0]))
	}
	b.WriteString(`<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript></form><script>document.forms[0].submit()</script>`)
	writePage(w, http.StatusOK, "Working...", b.String())
}

// loginForm carries the authorize parameters as hidden fields.
func loginForm(q url.Values, msg string) string {
	var b strings.Builder
	b.WriteString(errParagraph(msg) + `<form method="post">`)
	for k, vs := range q {
		if k == "username" || k == "password" {
			continue
		}
		fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(vs[0]))
	}
	fmt.Fprintf(&b, `<p><label>User <input name="username" value="%s"></label></p>`, html.EscapeString(q.Get("login_hint")))
	b.WriteString(`<p><label>Password <input name="password" type="password"></label></p><p><button type="submit">Sign in</button></p></form>`)
	return b.String()
}

// BrowserSignIn plays the user's browser for an authorization URL (e.g. the one MSAL
// opens in AcquireTokenInteractive, given to WithOpenURL): it signs in as upn without
// a password and delivers the code to the loopback redirect URI the way the URL asks
// (form_post, query or fragment-less redirect).
func (s *Server) BrowserSignIn(ctx context.Context, authorizeURL, upn string) error {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return err
	}
	host := strings.ToLower(u.Hostname())
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 4 || strings.ToLower(strings.Join(parts[1:], "/")) != "oauth2/v2.0/authorize" {
		return fmt.Errorf("simulator: %s is not an authorize URL", u.Path)
	}
	a, e := s.checkAuthorize(host, parts[0], u.Query())
	if e != nil {
		return fmt.Errorf("simulator: AADSTS%d: %s", e.aadsts, e.message)
	}
	t, usr, err := s.findUser(host, a.tenantID, upn)
	if err != nil {
		return err
	}
	target, form, post := s.signIn(a, t, usr)
	tu, err := url.Parse(target)
	if err != nil {
		return err
	}
	if !isLoopbackHost(tu.Hostname()) {
		return errNotLoopback
	}
	method, body := http.MethodGet, ""
	if post {
		method, body = http.MethodPost, form.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		return err
	}
	if post {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("simulator: redirect URI answered %s", resp.Status)
	}
	return nil
}
