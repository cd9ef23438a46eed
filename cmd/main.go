// Command d365-operator runs the D365Connection controller: it keeps fresh Entra ID access
// tokens for Dynamics 365 / Dataverse environments in Secrets.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/controller"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/entra"
	"github.com/d365-operator/d365-operator/internal/login"
	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
}

func main() {
	// `d365-operator login` signs a user in for auth.delegated; everything else runs the operator.
	if len(os.Args) > 1 && os.Args[1] == "login" {
		os.Exit(login.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	var opts options
	opts.BindFlags(flag.CommandLine)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Usage = usage
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(opts); err != nil {
		setupLog.Error(err, "Operator stopped")
		os.Exit(1)
	}
}

func usage() {
	_, _ = fmt.Fprintf(flag.CommandLine.Output(), `d365-operator keeps fresh Entra ID access tokens for
Dynamics 365 / Dataverse environments in Kubernetes Secrets (D365Connection, d365.operators.dev/v1alpha1).

Usage: d365-operator [flags]
       d365-operator login --environment-url URL --client-id ID --secret NAME [flags]
         (signs a user in for auth.delegated; d365-operator login -h for its flags)

Flags:
`)
	flag.PrintDefaults()
}

func run(opts options) error {
	aliases, err := transport.ParseHostAliases(opts.hostAliases)
	if err != nil {
		return fmt.Errorf("--host-alias: %w", err)
	}
	httpClient := transport.NewHTTPClient(transport.Options{HostAliases: aliases, Timeout: opts.httpTimeout})
	policy := trust.NewPolicy(opts.extraAuthorityHosts, opts.extraEnvironmentHosts)

	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = float32(opts.kubeAPIQPS), opts.kubeAPIBurst

	// HTTP/2 stays off unless asked for: it exposes the metrics server to the HTTP/2 Stream
	// Cancellation and Rapid Reset CVEs (GHSA-qppj-fm5r-hxr3, GHSA-4374-p667-p6c8).
	var tlsOpts []func(*tls.Config)
	if !opts.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{
		BindAddress: opts.metricsAddr, SecureServing: opts.secureMetrics, TLSOpts: tlsOpts,
	}
	if opts.secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	namespaces := opts.namespaces()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsOpts,
		HealthProbeBindAddress: opts.probeAddr,
		LeaderElection:         opts.leaderElect,
		LeaderElectionID:       "d365-operator.operators.dev",
		Cache: cache.Options{
			DefaultNamespaces: namespaces,
			DefaultTransform:  cache.TransformStripManagedFields(),
			// Only the operator's own output Secrets are cached in full.
			ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: controller.OutputSecretCacheOptions()},
		},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	secretMetadata, err := controller.NewSecretMetadataCache(mgr, namespaces)
	if err != nil {
		return fmt.Errorf("creating the Secret metadata cache: %w", err)
	}
	// Workload identity must never sign in as the operator itself.
	whoCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	self, err := controller.OperatorServiceAccount(whoCtx, mgr.GetClient())
	cancel()
	if err != nil {
		return err
	}
	realClock := clock.RealClock{}
	reconciler := controller.New(controller.Dependencies{
		Client:         mgr.GetClient(),
		APIReader:      mgr.GetAPIReader(),
		SecretMetadata: secretMetadata,
		Scheme:         mgr.GetScheme(),
		Clock:          realClock,
		Recorder:       mgr.GetEventRecorder("d365-operator"),
		Tokens:         entra.NewProvider(entra.ProviderOptions{HTTPClient: httpClient, Clock: realClock, Trust: policy}),
		Environments:   dataverse.NewClient(httpClient, dataverse.WithTrust(policy), dataverse.WithClock(realClock)),
		Trust:          policy,

		OperatorServiceAccount: self,
	})
	if err := reconciler.SetupWithManager(mgr, secretMetadata, opts.concurrency); err != nil {
		return fmt.Errorf("setting up the controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	setupLog.Info("Starting the operator", "watchedNamespaces", opts.watchNamespaces, "concurrency", opts.concurrency)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// options are the operator's flags.
type options struct {
	metricsAddr           string
	secureMetrics         bool
	enableHTTP2           bool
	probeAddr             string
	leaderElect           bool
	watchNamespaces       string
	extraAuthorityHosts   stringList
	extraEnvironmentHosts stringList
	hostAliases           stringList
	kubeAPIQPS            float64
	kubeAPIBurst          int
	concurrency           int
	httpTimeout           time.Duration
}

// BindFlags registers the operator's flags.
func (o *options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443",
		"Address of the metrics endpoint (:8443 with --metrics-secure, :8080 without); 0 disables it.")
	fs.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS with Kubernetes authentication and authorization.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false, "Allow HTTP/2 on the metrics server.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz probes.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader, so that only one of several replicas reconciles.")
	fs.StringVar(&o.watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces to watch; empty watches all namespaces.")
	fs.Var(&o.extraAuthorityHosts, "extra-authority-hosts",
		"Comma-separated Entra ID hosts to trust besides the public and sovereign clouds' login hosts "+
			"(e.g. a local simulator). Repeatable.")
	fs.Var(&o.extraEnvironmentHosts, "extra-environment-hosts",
		"Comma-separated Dataverse hosts (or .suffixes) to trust besides *.dynamics.com and the sovereign "+
			"clouds' suffixes. Repeatable.")
	fs.Var(&o.hostAliases, "host-alias",
		"host[:port]=ip:port: dial ip:port for that host while still verifying TLS for the host name "+
			"(local simulators, tests). Repeatable.")
	fs.Float64Var(&o.kubeAPIQPS, "kube-api-qps", 100, "Queries per second to the Kubernetes API server.")
	fs.IntVar(&o.kubeAPIBurst, "kube-api-burst", 200, "Burst of requests to the Kubernetes API server.")
	fs.IntVar(&o.concurrency, "concurrency", 10, "Connections reconciled in parallel.")
	fs.DurationVar(&o.httpTimeout, "http-timeout", 30*time.Second, "Timeout of one request to Entra ID or Dataverse.")
}

// namespaces turns --watch-namespaces into cache namespaces (nil: all).
func (o *options) namespaces() map[string]cache.Config {
	if strings.TrimSpace(o.watchNamespaces) == "" {
		return nil
	}
	m := map[string]cache.Config{}
	for ns := range strings.SplitSeq(o.watchNamespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			m[ns] = cache.Config{}
		}
	}
	return m
}

// stringList is a repeatable, comma-separated flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

// Set appends comma-separated values.
func (s *stringList) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}
