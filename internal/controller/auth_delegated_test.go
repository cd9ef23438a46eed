package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/login"
	"github.com/d365-operator/d365-operator/internal/transport"
)

// deviceApprover is the user at another device: it reads the code the login command
// prints and approves it in the simulator as upn.
type deviceApprover struct {
	a   *authHarness
	upn string

	mu  sync.Mutex
	out bytes.Buffer
	err error
}

var userCodePattern = regexp.MustCompile(`enter the code (\S+) to authenticate`)

func (d *deviceApprover) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.out.Write(p)
	if m := userCodePattern.FindSubmatch(p); m != nil {
		d.err = d.a.sim.ApproveDeviceCode(string(m[1]), d.upn)
	}
	return len(p), nil
}

func (d *deviceApprover) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// loginOptions are the login command's options for Secret name against the harness's world.
func (a *authHarness) loginOptions(name, client string, deviceCode bool) login.Options {
	return login.Options{EnvironmentURL: envURL, ClientID: client, Namespace: a.ns, SecretName: name, DeviceCode: deviceCode, Timeout: 30 * time.Second}
}

// loginWithDeviceCode runs the login command's device code flow as Alice.
func (a *authHarness) loginWithDeviceCode(name, client string) string {
	a.t.Helper()
	out := &deviceApprover{a: a, upn: aliceUPN}
	err := login.Run(a.ctx, a.loginOptions(name, client, true), login.Deps{Kube: env.Client, HTTPClient: transport.NewHTTPClient(a.httpOpts), Out: out})
	if err != nil || out.err != nil {
		a.t.Fatalf("login with a device code: %v %v\n%s", err, out.err, out)
	}
	a.recordCache(name)
	return out.String()
}

// loginWithBrowser runs the login command's authorization code flow, the simulator playing
// the browser that signs in as upn; it returns the authorization URL MSAL opened.
func (a *authHarness) loginWithBrowser(name, client, upn string) *url.URL {
	a.t.Helper()
	var opened *url.URL
	browserDone := make(chan error, 1)
	openURL := func(u string) error {
		opened, _ = url.Parse(u)
		go func() { browserDone <- a.sim.BrowserSignIn(context.Background(), u, upn) }()
		return nil
	}
	var out bytes.Buffer
	err := login.Run(a.ctx, a.loginOptions(name, client, false), login.Deps{Kube: env.Client, HTTPClient: transport.NewHTTPClient(a.httpOpts), Out: &out, OpenURL: openURL})
	if err != nil {
		a.t.Fatalf("login with the browser: %v\n%s", err, out.String())
	}
	if err := <-browserDone; err != nil {
		a.t.Fatalf("the simulated browser: %v", err)
	}
	a.recordCache(name)
	return opened
}

// recordCache notes the refresh tokens of the token cache Secret name as secrets and
// returns the cache.
func (a *authHarness) recordCache(name string) []byte {
	a.t.Helper()
	s := a.secret(name)
	if s == nil {
		a.t.Fatalf("no token cache Secret %s", name)
	}
	doc := s.Data[v1alpha1.TokenCacheKey]
	var cache struct {
		AccessToken  map[string]json.RawMessage
		RefreshToken map[string]struct {
			Secret string `json:"secret"`
		}
	}
	if err := json.Unmarshal(doc, &cache); err != nil {
		a.t.Fatalf("Secret %s does not hold an MSAL cache: %v", name, err)
	}
	if len(cache.AccessToken) != 0 {
		a.t.Errorf("Secret %s holds %d access tokens; it needs none", name, len(cache.AccessToken))
	}
	if len(cache.RefreshToken) != 1 {
		a.t.Fatalf("Secret %s holds %d refresh tokens, want 1", name, len(cache.RefreshToken))
	}
	for _, rt := range cache.RefreshToken {
		a.addSecret(rt.Secret)
	}
	return doc
}

func delegatedAuth(client, cacheSecret string) v1alpha1.AuthSpec {
	return v1alpha1.AuthSpec{Delegated: &v1alpha1.DelegatedAuth{ClientID: client, TokenCacheRef: v1alpha1.SecretRef{Name: cacheSecret}}}
}

func TestDelegatedSignInIsKeptAliveUntilRevoked(t *testing.T) {
	a := newAuthHarness(t)
	out := a.loginWithDeviceCode("alice-signin", publicClientID)
	if !strings.Contains(out, "Signed in as "+aliceUPN) {
		t.Errorf("the login command's output does not confirm the sign-in:\n%s", out)
	}
	if s := a.secret("alice-signin"); s.Annotations[login.AnnotationSignedInAs] != aliceUPN || s.Annotations[login.AnnotationClientID] != publicClientID {
		t.Errorf("token cache Secret annotations %v", s.Annotations)
	}
	a.connectionWith("sales", envURL, delegatedAuth(publicClientID, "alice-signin"))

	// Each refresh redeems the refresh token and writes the rotated cache back.
	for i := 1; i <= 2; i++ {
		before := a.recordCache("alice-signin")
		a.reconcile("sales")
		claims := a.expectReady("sales")
		if claims.UPN != aliceUPN || claims.AppID != publicClientID {
			t.Fatalf("refresh %d: token for %q through %s", i, claims.UPN, claims.AppID)
		}
		if n := a.requests(publicClientID, "refresh_token"); n != i {
			t.Fatalf("refresh %d: %d refresh token grants", i, n)
		}
		if after := a.recordCache("alice-signin"); bytes.Equal(before, after) {
			t.Fatalf("refresh %d: the rotated cache was not written back", i)
		}
		a.advanceTo(a.get("sales").Status.NextRefreshTime.Time)
	}
	if id := a.get("sales").Status.Identity; id == nil || id.UserID != aliceUserID {
		t.Errorf("WhoAmI identity %+v, want the user's %s", id, aliceUserID)
	}

	// An admin revokes the user's sessions: the next refresh says to sign in again, and
	// the token already in the output Secret stays until it expires.
	lastToken := string(a.secret("sales-token").Data[v1alpha1.SecretKeyAccessToken])
	a.sim.RevokeRefreshTokens(tenantID, aliceUPN)
	a.reconcile("sales")
	a.expectFailure("sales", v1alpha1.ReasonSignInExpired, "AADSTS50173",
		"d365-operator login --namespace "+a.ns+" --secret alice-signin --environment-url "+envURL+" --client-id "+publicClientID)
	if !conditionTrue(a.get("sales"), v1alpha1.ConditionStalled) {
		t.Error("an expired sign-in is not Stalled")
	}
	if got := string(a.secret("sales-token").Data[v1alpha1.SecretKeyAccessToken]); got != lastToken {
		t.Error("the output Secret's token was changed after the failure")
	}

	// Signing in again (this time in the browser) recovers the connection.
	a.loginWithBrowser("alice-signin", publicClientID, aliceUPN)
	a.reconcile("sales")
	if claims := a.expectReady("sales"); claims.UPN != aliceUPN {
		t.Errorf("token for %q after signing in again", claims.UPN)
	}
}

func TestLoginWithTheBrowserUsesPKCEAndFormPost(t *testing.T) {
	a := newAuthHarness(t)
	opened := a.loginWithBrowser("bob-signin", publicClientID, bobUPN) // MFA happens in the browser
	q := opened.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("response_mode") != "form_post" {
		t.Errorf("authorize URL without PKCE S256 and form_post: %v", q)
	}
	if r, err := url.Parse(q.Get("redirect_uri")); err != nil || r.Hostname() != "localhost" {
		t.Errorf("redirect URI %q, want http://localhost:<port>", q.Get("redirect_uri"))
	}
	if n := a.requests(publicClientID, "authorization_code"); n != 1 {
		t.Errorf("%d authorization code redemptions, want 1", n)
	}
	a.connectionWith("sales", envURL, delegatedAuth(publicClientID, "bob-signin"), func(c *v1alpha1.D365Connection) {
		c.Spec.HealthCheck.Disabled = true // bob is no user of the environment's
	})
	a.reconcile("sales")
	if claims := a.expectReady("sales"); claims.UPN != bobUPN {
		t.Errorf("token for %q, want %s", claims.UPN, bobUPN)
	}
}

// A confidential app redeems the refresh token with its client secret: once the app stops
// allowing public client flows after the sign-in, only the secret makes the refresh work.
func TestDelegatedThroughAConfidentialApp(t *testing.T) {
	a := newAuthHarness(t)
	a.sim.SetAllowPublicClient(tenantID, clientID, true)
	a.loginWithDeviceCode("alice-signin", clientID)
	a.sim.SetAllowPublicClient(tenantID, clientID, false)
	a.appSecret(clientSecret)
	a.connectionWith("with-secret", envURL, delegatedAuth(clientID, "alice-signin"), func(c *v1alpha1.D365Connection) {
		c.Spec.Auth.Delegated.ClientSecretRef = &v1alpha1.SecretKeyRef{Name: "d365-app", Key: "client-secret"}
	})
	a.reconcile("with-secret")
	if claims := a.expectReady("with-secret"); claims.UPN != aliceUPN || claims.AppIDACR != "1" {
		t.Errorf("token for %q with appidacr %s, want %s with the client secret (1)", claims.UPN, claims.AppIDACR, aliceUPN)
	}
	a.connectionWith("without-secret", envURL, delegatedAuth(clientID, "alice-signin"))
	a.reconcile("without-secret")
	a.expectFailure("without-secret", v1alpha1.ReasonCredentialRejected, "AADSTS7000218", "clientSecretRef")
}

func TestDelegatedTokenCacheProblemsSayHowToSignIn(t *testing.T) {
	a := newAuthHarness(t)
	a.connectionWith("missing", envURL, delegatedAuth(publicClientID, "nobody-signin"))
	a.reconcile("missing")
	a.expectFailure("missing", v1alpha1.ReasonSecretNotFound, `"nobody-signin"`, "d365-operator login")

	a.secretOf("garbage", map[string]string{v1alpha1.TokenCacheKey: "not json"})
	a.connectionWith("garbage", envURL, delegatedAuth(publicClientID, "garbage"))
	a.reconcile("garbage")
	a.expectFailure("garbage", v1alpha1.ReasonInvalidCredential, "not an MSAL token cache", "d365-operator login")

	// A sign-in through another app: its refresh token is useless for this client ID.
	a.loginWithDeviceCode("other-app", publicClientID)
	a.connectionWith("other-app", envURL, delegatedAuth(wiClientID, "other-app"))
	a.reconcile("other-app")
	a.expectFailure("other-app", v1alpha1.ReasonSignInExpired, "no refresh token", wiClientID, "--client-id "+wiClientID)

	a.secretOf("empty", map[string]string{"other": "x"})
	a.connectionWith("empty", envURL, delegatedAuth(publicClientID, "empty"))
	a.reconcile("empty")
	a.expectFailure("empty", v1alpha1.ReasonSecretKeyNotFound, v1alpha1.TokenCacheKey)
	if a.secret("empty").Type != corev1.SecretTypeOpaque {
		t.Error("the Secret changed type")
	}
}

// The account id in a token cache is no secret: a cache forged in another namespace with
// the same user's id (and a made-up refresh token) must not get that user's tokens, even
// while the operator holds a fresh one for the real sign-in.
func TestAForgedTokenCacheInAnotherNamespaceGetsNoToken(t *testing.T) {
	a := newAuthHarness(t)
	a.loginWithDeviceCode("alice-signin", publicClientID)
	a.connectionWith("sales", envURL, delegatedAuth(publicClientID, "alice-signin"))
	a.reconcile("sales")
	a.expectReady("sales")

	forged := regexp.MustCompile(`"secret":"1\.AS[^"]*"`).ReplaceAll(a.recordCache("alice-signin"), []byte(`"secret":"1.AS-forged"`))
	other := a.ns + "-b"
	a.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}})
	a.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "alice-signin"}, Data: map[string][]byte{v1alpha1.TokenCacheKey: forged}})
	conn := &v1alpha1.D365Connection{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "sales"},
		Spec: v1alpha1.D365ConnectionSpec{EnvironmentURL: envURL, Auth: delegatedAuth(publicClientID, "alice-signin")}}
	a.create(conn)
	key := types.NamespacedName{Namespace: other, Name: "sales"}
	reconcileAs(t, a.ctx, a.r, key)
	if err := env.Client.Get(a.ctx, key, conn); err != nil {
		t.Fatal(err)
	}
	if c := findCondition(conn, v1alpha1.ConditionReady); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonSignInExpired {
		t.Errorf("the forged cache's connection: Ready = %s (%s: %s), want False with SignInExpired", c.Status, c.Reason, c.Message)
	}
	s := &corev1.Secret{}
	if err := env.Client.Get(a.ctx, types.NamespacedName{Namespace: other, Name: "sales-token"}, s); err == nil {
		t.Error("the forged cache's connection got an output Secret")
	}
}

// The login command as a user runs it: flags, a kubeconfig, and (for the simulator) a CA
// file and host aliases.
func TestLoginCommandLine(t *testing.T) {
	a := newAuthHarness(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, a.sim.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	args := make([]string, 0, 32)
	args = append(args,
		"--kubeconfig", env.KubeconfigPath, "--namespace", a.ns, "--secret", "alice-signin",
		"--environment-url", envURL, "--client-id", publicClientID, "--device-code", "--ca-file", ca,
	)
	for from, to := range a.sim.HostAliases() {
		args = append(args, "--host-alias", from+"="+to)
	}
	stdout := &deviceApprover{a: a, upn: aliceUPN}
	var stderr bytes.Buffer
	if code := login.Main(args, stdout, &stderr); code != 0 || stdout.err != nil {
		t.Fatalf("exit code %d (%v)\nstdout:\n%s\nstderr:\n%s", code, stdout.err, stdout, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"https://login.microsoftonline.com/" + tenantID + "/", "enter the code", "Signed in as " + aliceUPN, a.ns + "/alice-signin"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}
	doc := a.recordCache("alice-signin")
	for _, rt := range a.secrets {
		if rt != "" && (strings.Contains(out, rt) || strings.Contains(stderr.String(), rt)) {
			t.Error("the login command printed a refresh token")
		}
	}
	if strings.Contains(out, string(doc)) || strings.Contains(out, "eyJ") {
		t.Error("the login command printed the token cache or a token")
	}

	a.connectionWith("sales", envURL, delegatedAuth(publicClientID, "alice-signin"))
	a.reconcile("sales")
	a.expectReady("sales")

	// Missing flags are named; nothing is written.
	stderr.Reset()
	if code := login.Main([]string{"--kubeconfig", env.KubeconfigPath, "--namespace", a.ns, "--client-id", publicClientID}, &bytes.Buffer{}, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "--environment-url, --secret") {
		t.Errorf("exit code %d, stderr %q; want 1 naming --environment-url and --secret", code, stderr.String())
	}
	if code := login.Main([]string{"-h"}, &bytes.Buffer{}, &stderr); code != 0 || !strings.Contains(stderr.String(), "--device-code") {
		t.Errorf("-h: exit code %d, usage %q", code, stderr.String())
	}
	if v := a.secret("alice-signin").Data[v1alpha1.TokenCacheKey]; len(v) == 0 {
		t.Error("the token cache disappeared")
	}
}
