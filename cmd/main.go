// Command d365-operator runs the D365Connection controller: it keeps fresh Entra ID access
// tokens for Dynamics 365 / Dataverse environments in Secrets.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
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
	"github.com/d365-operator/d365-operator/internal/shard"
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
	// `d365-operator shard assign --shards N` labels connections with their shard.
	if len(os.Args) > 1 && os.Args[1] == "shard" {
		os.Exit(shard.Main(os.Args[2:], os.Stdout, os.Stderr))
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
       d365-operator shard assign --shards N [flags]
         (labels connections with their shard; d365-operator shard assign -h for its flags)

Flags:
`)
	flag.PrintDefaults()
}

// run wires the manager and blocks until a termination signal stops it.
func run(opts options) error {
	httpClient, err := opts.httpClient()
	if err != nil {
		return err
	}
	policy := trust.NewPolicy(opts.extraAuthorityHosts, opts.extraEnvironmentHosts)

	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = float32(opts.kubeAPIQPS), opts.kubeAPIBurst
	// One map for both caches: the manager's cache fills in its defaults per namespace, and
	// the Secret metadata cache is built from the map as the manager left it.
	namespaces := opts.namespaces()
	mgrOpts, err := opts.managerOptions(namespaces)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	if err := controller.RegisterReadyMetrics(mgr.GetCache()); err != nil {
		return fmt.Errorf("registering the ready metric: %w", err)
	}
	if err := setupControllers(mgr, namespaces, opts, dependencies(httpClient, policy)); err != nil {
		return err
	}
	if err := addProbes(mgr); err != nil {
		return err
	}
	setupLog.Info("Starting the operator", "watchedNamespaces", opts.watchNamespaces,
		"watchLabelSelector", opts.watchLabelSelector, "concurrency", opts.concurrency)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// httpClient is the client of Entra ID and Dataverse, dialing --host-alias targets.
func (o *options) httpClient() (*http.Client, error) {
	aliases, err := transport.ParseHostAliases(o.hostAliases)
	if err != nil {
		return nil, fmt.Errorf("--host-alias: %w", err)
	}
	return transport.NewHTTPClient(transport.Options{HostAliases: aliases, Timeout: o.httpTimeout}), nil
}

// managerOptions are the manager's scheme, metrics, probes, leader election and cache.
func (o *options) managerOptions(namespaces map[string]cache.Config) (ctrl.Options, error) {
	// A shard caches, and so reconciles, only the connections its selector picks.
	selector, err := shard.ParseSelector(o.watchLabelSelector)
	if err != nil {
		return ctrl.Options{}, err
	}
	// Only the operator's own output Secrets are cached in full; in a shard, only those of
	// its connections (they carry their connection's shard label).
	byObject := map[client.Object]cache.ByObject{&corev1.Secret{}: controller.OutputSecretCacheOptions(selector)}
	if selector != nil {
		byObject[&v1alpha1.D365Connection{}] = cache.ByObject{Label: selector}
	}
	return ctrl.Options{
		Scheme:                 scheme,
		Metrics:                o.metricsOptions(),
		HealthProbeBindAddress: o.probeAddr,
		LeaderElection:         o.leaderElect,
		LeaderElectionID:       o.leaderElectionID,
		Cache: cache.Options{
			DefaultNamespaces: namespaces,
			DefaultTransform:  cache.TransformStripManagedFields(),
			ByObject:          byObject,
		},
	}, nil
}

// metricsOptions serve metrics over HTTPS with Kubernetes authentication and authorization
// unless --metrics-secure=false.
func (o *options) metricsOptions() metricsserver.Options {
	// HTTP/2 stays off unless asked for: it exposes the metrics server to the HTTP/2 Stream
	// Cancellation and Rapid Reset CVEs (GHSA-qppj-fm5r-hxr3, GHSA-4374-p667-p6c8).
	var tlsOpts []func(*tls.Config)
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{
		BindAddress: o.metricsAddr, SecureServing: o.secureMetrics, TLSOpts: tlsOpts,
	}
	if o.secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	return metricsOpts
}

// dependencies are the reconciler's outside systems: Entra ID and Dataverse share one HTTP
// client and one trust policy, and all run on the real clock. setupControllers adds the
// Kubernetes side.
func dependencies(httpClient *http.Client, policy *trust.Policy) controller.Dependencies {
	realClock := clock.RealClock{}
	return controller.Dependencies{
		Clock:        realClock,
		Tokens:       entra.NewProvider(entra.ProviderOptions{HTTPClient: httpClient, Clock: realClock, Trust: policy}),
		Environments: dataverse.NewClient(httpClient, dataverse.WithTrust(policy), dataverse.WithClock(realClock)),
		Trust:        policy,
	}
}

// setupControllers adds the D365Connection and ClusterD365Identity reconcilers to the
// manager, on the manager's clients and a metadata-only cache of the Secrets connections
// and identities reference.
func setupControllers(mgr ctrl.Manager, namespaces map[string]cache.Config, opts options,
	deps controller.Dependencies) error {
	if err := controller.CheckCRDsInstalled(mgr.GetRESTMapper()); err != nil {
		return err
	}
	self, err := operatorServiceAccount(mgr.GetClient())
	if err != nil {
		return err
	}
	deps.ClusterResourceNamespace = opts.clusterResourceNS
	if deps.ClusterResourceNamespace == "" {
		deps.ClusterResourceNamespace = self.Namespace
	}
	secretNamespaces := withNamespace(namespaces, deps.ClusterResourceNamespace)
	secretMetadata, err := controller.NewSecretMetadataCache(mgr, secretNamespaces)
	if err != nil {
		return fmt.Errorf("creating the Secret metadata cache: %w", err)
	}
	if secretNamespaces != nil {
		deps.SecretNamespaces = map[string]bool{}
		for ns := range secretNamespaces {
			deps.SecretNamespaces[ns] = true
		}
	}
	deps.Client = mgr.GetClient()
	deps.APIReader = mgr.GetAPIReader()
	deps.SecretMetadata = secretMetadata
	deps.Scheme = mgr.GetScheme()
	deps.Recorder = mgr.GetEventRecorder("d365-operator")
	deps.OperatorServiceAccount = self
	if deps.IdentityHashKey, err = identityHashKey(mgr, self); err != nil {
		return err
	}
	connections := controller.New(deps)
	if err := connections.SetupWithManager(mgr, secretMetadata, opts.concurrency); err != nil {
		return fmt.Errorf("setting up the connection controller: %w", err)
	}
	shardSelector, err := shard.ParseSelector(opts.watchLabelSelector)
	if err != nil {
		return err
	}
	identities := controller.NewIdentityReconciler(connections, shardSelector)
	if err := identities.SetupWithManager(mgr, secretMetadata); err != nil {
		return fmt.Errorf("setting up the identity controller: %w", err)
	}
	return nil
}

// withNamespace adds the --cluster-resource-namespace, where identities' Secrets live, to
// the watched namespaces of the Secret metadata cache (nil, all namespaces, stays nil).
func withNamespace(namespaces map[string]cache.Config, ns string) map[string]cache.Config {
	if namespaces == nil || ns == "" {
		return namespaces
	}
	if _, ok := namespaces[ns]; ok {
		return namespaces
	}
	with := maps.Clone(namespaces)
	with[ns] = cache.Config{}
	return with
}

// operatorServiceAccount asks the API server who the operator runs as, because workload
// identity must never sign in as the operator itself.
func operatorServiceAccount(c client.Client) (types.NamespacedName, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return controller.OperatorServiceAccount(ctx, c)
}

// identityHashKey reads (or creates, on first start) the key of the identity hash on output
// Secrets in the operator's own namespace. Run as another kind of user (a developer's
// kubeconfig) there is no namespace of its own: a random key then lasts for this process.
func identityHashKey(mgr ctrl.Manager, self types.NamespacedName) ([]byte, error) {
	if self.Namespace == "" {
		setupLog.Info("Not running as a ServiceAccount: the identity hash key lasts for this process only, " +
			"and output Secrets get new tokens after a restart")
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return controller.EnsureIdentityHashKey(ctx, mgr.GetAPIReader(), mgr.GetClient(), self.Namespace)
}

// addProbes serves /healthz and /readyz on --health-probe-bind-address.
func addProbes(mgr ctrl.Manager) error {
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("readyz", healthz.Ping)
}

// options are the operator's flags.
type options struct {
	metricsAddr           string
	secureMetrics         bool
	enableHTTP2           bool
	probeAddr             string
	leaderElect           bool
	leaderElectionID      string
	watchLabelSelector    string
	watchNamespaces       string
	clusterResourceNS     string
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
	fs.StringVar(&o.clusterResourceNS, "cluster-resource-namespace", "",
		"Namespace of the Secrets a ClusterD365Identity references without a namespace, and of its "+
			"workloadIdentity ServiceAccounts; empty: the operator's own namespace.")
	fs.StringVar(&o.leaderElectionID, "leader-election-id", "d365-operator.operators.dev",
		"Name of the leader election Lease; each shard needs its own.")
	fs.StringVar(&o.watchLabelSelector, "watch-label-selector", "",
		"Label selector of the D365Connections this process reconciles (sharding), e.g. "+
			"'d365.operators.dev/shard=1', or '!d365.operators.dev/shard' for the default shard; empty: all.")
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
