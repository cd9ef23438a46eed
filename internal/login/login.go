// Package login implements `d365-operator login`: a user signs in to Entra ID once, in a
// browser (authorization code flow with PKCE, localhost redirect) or with a device code, and
// the resulting MSAL token cache is stored in a Secret that a D365Connection's
// auth.delegated.tokenCacheRef names. The operator then keeps the sign-in alive by redeeming
// and rotating its refresh token; no password is stored anywhere.
package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/entra"
	"github.com/d365-operator/d365-operator/internal/environment"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// Annotations on the token cache Secret: who signed in, when and where. They are not secret
// (anyone who may read the Secret may read its data anyway) and help an admin find out
// whose sign-in a connection uses.
const (
	AnnotationSignedInAs     = "d365.operators.dev/signed-in-as"
	AnnotationSignedInAt     = "d365.operators.dev/signed-in-at"
	AnnotationClientID       = "d365.operators.dev/client-id"
	AnnotationAuthority      = "d365.operators.dev/authority"
	AnnotationEnvironmentURL = "d365.operators.dev/environment-url"
)

// Options are what the user chooses on the command line.
type Options struct {
	// EnvironmentURL is the Dataverse environment, e.g. https://contoso.crm.dynamics.com.
	EnvironmentURL string
	// ClientID is the app registration the user signs in to (public client flows allowed);
	// the connection must name the same one.
	ClientID string
	// TenantID and AuthorityHost override what the environment's challenge says, like the
	// connection's spec.tenantID and spec.authorityHost.
	TenantID, AuthorityHost string
	// Namespace and SecretName name the Secret to write.
	Namespace, SecretName string
	// DeviceCode uses the device code flow instead of a browser on this machine.
	DeviceCode bool
	// RedirectPort is the localhost port of the browser flow's redirect (0: any free port).
	RedirectPort int
	// LoginHint pre-fills the user name.
	LoginHint string
	// Timeout bounds the whole sign-in (the user's part included).
	Timeout time.Duration
}

// Deps are the outside systems Run talks to.
type Deps struct {
	// Kube writes the Secret.
	Kube client.Client
	// HTTPClient reaches the environment and Entra ID.
	HTTPClient *http.Client
	// Trust decides which hosts may be used; nil means the built-in ones.
	Trust *trust.Policy
	// Out receives the instructions for the user and the outcome.
	Out io.Writer
	// OpenURL opens the sign-in page; nil opens the system browser.
	OpenURL func(url string) error
	// Now stamps the Secret; nil means time.Now.
	Now func() time.Time
}

// Run signs the user in and stores the token cache in the Secret.
func Run(ctx context.Context, o Options, d Deps) error {
	if err := o.validate(); err != nil {
		return err
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	authority, resource, err := discover(ctx, o, d)
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(d.Out, "Signing in to %s for %s (client ID %s)\n", authority, resource, o.ClientID)

	res, err := entra.SignIn(ctx, entra.SignInOptions{
		Authority:      authority,
		ClientID:       o.ClientID,
		Resource:       resource,
		DeviceCode:     o.DeviceCode,
		ShowDeviceCode: func(msg string) { _, _ = fmt.Fprintln(d.Out, msg) },
		OpenURL:        d.openSignInPage,
		RedirectPort:   o.RedirectPort,
		LoginHint:      o.LoginHint,
		HTTPClient:     d.HTTPClient,
		Trust:          d.Trust,
	})
	if err != nil {
		return fmt.Errorf("signing in: %w", err)
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	if err := store(ctx, d.Kube, o, authority, resource, res, now()); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(d.Out, "Signed in as %s. The token cache is in Secret %s/%s (key %s).\n"+
		"Name it in a D365Connection's spec.auth.delegated.tokenCacheRef.name, with clientID %s; the operator keeps the sign-in alive.\n",
		res.Username, o.Namespace, o.SecretName, v1alpha1.TokenCacheKey, o.ClientID)
	return nil
}

// openSignInPage shows the sign-in URL and opens it in a browser (d.OpenURL in tests).
func (d Deps) openSignInPage(u string) error {
	_, _ = fmt.Fprintf(d.Out, "Opening the sign-in page in a browser. If none opens, visit:\n%s\n", u)
	if d.OpenURL != nil {
		return d.OpenURL(u)
	}
	if err := openBrowser(u); err != nil {
		// MSAL still waits for the redirect: the URL above works from this machine.
		_, _ = fmt.Fprintf(d.Out, "Could not open a browser (%v); open the URL above on this machine.\n", err)
	}
	return nil
}

func (o Options) validate() error {
	var missing []string
	for flag, v := range map[string]string{"--environment-url": o.EnvironmentURL, "--client-id": o.ClientID, "--namespace": o.Namespace, "--secret": o.SecretName} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, flag)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	// The operator's own rule: the same URL works in a connection's spec.environmentURL.
	if _, err := environment.Parse(o.EnvironmentURL); err != nil {
		return fmt.Errorf("--environment-url: %w (e.g. https://contoso.crm.dynamics.com)", err)
	}
	return nil
}

// discover finds the authority the way the operator does: from the environment's 401
// challenge, with --tenant and --authority-host overriding it. Matching the operator matters:
// the refresh token is stored under the login host, which must be the connection's.
func discover(ctx context.Context, o Options, d Deps) (authority, resource string, err error) {
	env, err := environment.Parse(o.EnvironmentURL)
	if err != nil {
		return "", "", fmt.Errorf("--environment-url: %w", err)
	}
	resource = env.URL()
	host, tenant := strings.TrimSuffix(o.AuthorityHost, "/"), o.TenantID
	if host == "" || tenant == "" || env.Kind() == environment.OnlineManagementAPI {
		found, derr := dataverse.NewClient(d.HTTPClient, dataverse.WithTrust(d.Trust)).Discover(ctx, resource)
		if derr != nil {
			return "", "", fmt.Errorf("discovering the environment's authority: %w", derr)
		}
		resource = found.Resource
		if host == "" {
			host = found.AuthorityHost
		}
		if tenant == "" {
			tenant = found.TenantID
		}
	}
	return host + "/" + tenant + "/", resource, nil
}

// store creates the Secret or replaces its token cache, keeping its other keys.
func store(ctx context.Context, kube client.Client, o Options, authority, resource string, res entra.SignInResult, now time.Time) error {
	annotations := map[string]string{
		AnnotationSignedInAs:     res.Username,
		AnnotationSignedInAt:     now.UTC().Format(time.RFC3339),
		AnnotationClientID:       o.ClientID,
		AnnotationAuthority:      authority,
		AnnotationEnvironmentURL: resource,
	}
	key := types.NamespacedName{Namespace: o.Namespace, Name: o.SecretName}
	secret := &corev1.Secret{}
	err := kube.Get(ctx, key, secret)
	switch {
	case apierrors.IsNotFound(err):
		secret = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Annotations: annotations,
				Labels: map[string]string{"app.kubernetes.io/created-by": "d365-operator-login"}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{v1alpha1.TokenCacheKey: res.Cache},
		}
		err = kube.Create(ctx, secret)
	case err == nil:
		if secret.Data == nil {
			secret.Data = map[string][]byte{}
		}
		if secret.Annotations == nil {
			secret.Annotations = map[string]string{}
		}
		secret.Data[v1alpha1.TokenCacheKey] = res.Cache
		maps.Copy(secret.Annotations, annotations)
		err = kube.Update(ctx, secret)
	}
	if err != nil {
		return fmt.Errorf("storing the token cache in Secret %s/%s: %w", key.Namespace, key.Name, apiError(err))
	}
	return nil
}

// apiError drops nothing but makes the API server's refusal readable.
func apiError(err error) error {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		return errors.New(s.Status().Message)
	}
	return err
}
