package login

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/browser"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// flags are the command line of `d365-operator login`.
type flags struct {
	Options
	kubeconfig, kubeContext string
	caFile                  string
	extraAuthorityHosts     string
	extraEnvironmentHosts   string
	hostAliases             stringList
}

func (f *flags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.EnvironmentURL, "environment-url", "", "The Dataverse environment, e.g. https://contoso.crm.dynamics.com (required).")
	fs.StringVar(&f.ClientID, "client-id", "", "The app registration's client ID; it must allow public client flows, and the D365Connection must name the same one (required).")
	fs.StringVar(&f.TenantID, "tenant", "", "Tenant ID; default: from the environment's challenge.")
	fs.StringVar(&f.AuthorityHost, "authority-host", "", "Entra ID login host, e.g. https://login.microsoftonline.us; default: from the environment's challenge.")
	fs.StringVar(&f.Namespace, "namespace", "", "Namespace of the Secret; default: the kubeconfig context's namespace.")
	fs.StringVar(&f.SecretName, "secret", "", "Name of the Secret to create or update; the connection's spec.auth.delegated.tokenCacheRef.name (required).")
	fs.BoolVar(&f.DeviceCode, "device-code", false, "Sign in with a device code, on any device's browser, instead of a browser on this machine.")
	fs.IntVar(&f.RedirectPort, "redirect-port", 0, "Port of the http://localhost redirect of the browser sign-in; default: any free port.")
	fs.StringVar(&f.LoginHint, "login-hint", "", "User name to pre-fill on the sign-in page.")
	fs.DurationVar(&f.Timeout, "timeout", 10*time.Minute, "How long to wait for the sign-in.")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "Path of the kubeconfig; default: $KUBECONFIG or ~/.kube/config.")
	fs.StringVar(&f.kubeContext, "context", "", "kubeconfig context to use.")
	fs.StringVar(&f.extraAuthorityHosts, "extra-authority-hosts", "", "Comma-separated Entra ID hosts to trust besides the built-in ones (a local simulator).")
	fs.StringVar(&f.extraEnvironmentHosts, "extra-environment-hosts", "", "Comma-separated Dataverse hosts to trust besides the built-in ones (a local simulator).")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of more CA certificates to trust besides the system's (a local simulator).")
	fs.Var(&f.hostAliases, "host-alias", "host[:port]=ip:port to dial instead, TLS still verified for the host (a local simulator). Repeatable.")
}

// Main runs `d365-operator login` with args (after "login") and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("d365-operator login", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f flags
	f.bind(fs)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, `Usage: d365-operator login --environment-url URL --client-id ID --secret NAME [flags]

Signs you in to Entra ID (browser with PKCE, or --device-code) and stores the token cache in a
Secret for a D365Connection's spec.auth.delegated.tokenCacheRef. Your password is never stored.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := f.run(ctx, stdout); err != nil {
		_, _ = fmt.Fprintln(stderr, "d365-operator login:", err)
		return 1
	}
	return 0
}

// run builds the dependencies from the flags and the kubeconfig.
func (f *flags) run(ctx context.Context, out io.Writer) error {
	// Flag mistakes first; the namespace may still come from the kubeconfig.
	early := f.Options
	if early.Namespace == "" {
		early.Namespace = "(from the kubeconfig)"
	}
	if err := early.validate(); err != nil {
		return err
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	kc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: f.kubeContext})
	if f.Namespace == "" {
		ns, _, err := kc.Namespace()
		if err != nil {
			return fmt.Errorf("reading the kubeconfig: %w", err)
		}
		f.Namespace = ns
	}
	cfg, err := kc.ClientConfig()
	if err != nil {
		return fmt.Errorf("reading the kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	kube, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("connecting to the cluster: %w", err)
	}
	aliases, err := transport.ParseHostAliases(f.hostAliases)
	if err != nil {
		return fmt.Errorf("--host-alias: %w", err)
	}
	roots, err := rootCAs(f.caFile)
	if err != nil {
		return err
	}
	return Run(ctx, f.Options, Deps{
		Kube:       kube,
		HTTPClient: transport.NewHTTPClient(transport.Options{HostAliases: aliases, RootCAs: roots}),
		Trust:      trust.NewPolicy(splitList(f.extraAuthorityHosts), splitList(f.extraEnvironmentHosts)),
		Out:        out,
	})
}

// rootCAs is the system pool plus the certificates of file; nil (the system pool) without one.
func rootCAs(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pemData, err := os.ReadFile(file) //nolint:gosec // the user names the file on their own command line
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", file)
	}
	return pool, nil
}

// openBrowser opens the system browser (MSAL's default, which WithOpenURL replaces).
func openBrowser(u string) error {
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	return browser.OpenURL(u)
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

// Set appends a value.
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
