package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/dataverse"
	"github.com/d365-operator/d365-operator/internal/entra"
	"github.com/d365-operator/d365-operator/internal/simulator"
	"github.com/d365-operator/d365-operator/internal/transport"
	"github.com/d365-operator/d365-operator/internal/trust"
)

// The simulated world every controller test starts from.
const (
	tenantID    = "7e1c2f4a-6b1d-4c3e-9a8b-1f2e3d4c5b6a"
	clientID    = "11111111-2222-3333-4444-555555555555"
	appObjectID = "aaaaaaaa-0000-0000-0000-000000000001"
	appUserID   = "bbbbbbbb-0000-0000-0000-000000000001"
	orgID       = "cccccccc-0000-0000-0000-000000000001"
	buID        = "dddddddd-0000-0000-0000-000000000001"
	envHost     = "contoso.crm.dynamics.com"
	envURL      = "https://" + envHost
	// clientSecret is the app's valid secret. Tests assert it never leaks.
	clientSecret = "s3cr3t~Value.That-Must_Never.Leak"
	// evilTenant's environment challenges with an authority on a foreign host.
	evilTenantID = "0badbad0-0000-0000-0000-000000000000"
	evilEnvHost  = "phish.crm.dynamics.com"
	tokenLife    = 60 * time.Minute
)

var epoch = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// harness is one test's world: a namespace, the simulator, a fake clock, and a reconciler
// driven directly.
type harness struct {
	t         *testing.T
	ctx       context.Context
	ns        string
	clock     *clocktesting.FakeClock
	sim       *simulator.Server
	r         *D365ConnectionReconciler
	logs      *syncBuffer
	events    *eventLog
	newTokens func() *entra.Provider
	// metadata is the manager's metadata cache, once startManager ran.
	metadata cache.Cache
	// managed is the reconciler the manager runs, once startManager ran.
	managed *D365ConnectionReconciler
	// cache is the manager's cache (connections, output Secrets), once startManager ran.
	cache cache.Cache
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	fc := clocktesting.NewFakeClock(epoch)
	sim, err := simulator.Start(simulator.Config{
		Clock:         fc,
		TokenLifetime: tokenLife,
		Tenants: []simulator.Tenant{
			{ID: tenantID, Domain: "contoso.onmicrosoft.com", Apps: []simulator.App{{
				ClientID: clientID, ObjectID: appObjectID, DisplayName: "d365-operator",
				Secrets: []simulator.Secret{{Value: clientSecret}},
			}}},
			{ID: evilTenantID, AuthorityHost: "login.evil.example"},
		},
		Environments: []simulator.Environment{
			{Host: envHost, TenantID: tenantID, OrganizationID: orgID, BusinessUnitID: buID,
				ApplicationUsers: []simulator.ApplicationUser{{ClientID: clientID, UserID: appUserID}}},
			{Host: evilEnvHost, TenantID: evilTenantID},
		},
		ExtraHosts: []string{"login.evil.example"},
	})
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(sim.Close)

	httpClient := transport.NewHTTPClient(transport.Options{RootCAs: sim.CertPool(), HostAliases: sim.HostAliases(), Timeout: 10 * time.Second})
	policy := trust.NewPolicy(nil, nil)
	h := &harness{t: t, clock: fc, sim: sim, logs: &syncBuffer{}, events: &eventLog{}}
	h.newTokens = func() *entra.Provider {
		return entra.NewProvider(entra.ProviderOptions{HTTPClient: httpClient, Clock: fc, Trust: policy})
	}
	h.r = New(Dependencies{
		Client: env.Client, APIReader: env.Client, SecretMetadata: env.Client, Scheme: env.Scheme,
		Clock: fc, Recorder: h.events, Tokens: h.newTokens(), Environments: dataverse.NewClient(httpClient, dataverse.WithTrust(policy), dataverse.WithClock(fc)), Trust: policy,
	})
	logger := funcr.New(func(prefix, args string) { h.logs.WriteString(prefix + " " + args + "\n") }, funcr.Options{Verbosity: 5})
	h.ctx = log.IntoContext(context.Background(), logger)

	h.ns = fmt.Sprintf("t-%d", time.Now().UnixNano())
	h.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.ns}})
	t.Cleanup(func() { h.assertNoLeaks() })
	return h
}

// restartOperator replaces the reconciler's in-memory state, as a new operator process
// would start: new token provider, caches and counters.
func (h *harness) restartOperator() {
	d := h.r.Dependencies
	d.Tokens = h.newTokens()
	h.r = New(d)
}

func (h *harness) create(obj clientObject) {
	h.t.Helper()
	if err := env.Client.Create(h.ctx, obj); err != nil {
		h.t.Fatalf("creating %T: %v", obj, err)
	}
}

// appSecret creates Secret "d365-app" holding the client id and secret.
func (h *harness) appSecret(secret string) {
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "d365-app"},
		StringData: map[string]string{"client-id": clientID, "client-secret": secret}})
}

// connection creates a clientSecret connection reading Secret "d365-app"; mutate adjusts it.
func (h *harness) connection(name string, mutate ...func(*v1alpha1.D365Connection)) {
	conn := &v1alpha1.D365Connection{
		ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: v1alpha1.D365ConnectionSpec{
			EnvironmentURL: envURL,
			Auth: v1alpha1.AuthSpec{ClientSecret: &v1alpha1.ClientSecretAuth{
				ClientIDRef:     &v1alpha1.SecretKeyRef{Name: "d365-app", Key: "client-id"},
				ClientSecretRef: v1alpha1.SecretKeyRef{Name: "d365-app", Key: "client-secret"},
			}},
		},
	}
	for _, m := range mutate {
		m(conn)
	}
	h.create(conn)
}

// reconcile runs one reconcile of the named connection and returns the result.
func (h *harness) reconcile(name string) reconcile.Result {
	h.t.Helper()
	return reconcileAs(h.t, h.ctx, h.r, types.NamespacedName{Namespace: h.ns, Name: name})
}

// reconcileAs runs one reconcile and returns the result as controller-runtime would act on
// it: a failed step's error is requeued after the wait the reconciler planned (its rate
// limiter), a terminal one is not requeued. Any other error fails the test.
func reconcileAs(t *testing.T, ctx context.Context, r *D365ConnectionReconciler, key types.NamespacedName) reconcile.Result {
	t.Helper()
	req := reconcile.Request{NamespacedName: key}
	res, err := r.Reconcile(ctx, req)
	var failed *stepError
	switch {
	case err == nil:
		return res
	case errors.Is(err, reconcile.TerminalError(nil)):
		return reconcile.Result{}
	case errors.As(err, &failed):
		return reconcile.Result{RequeueAfter: r.retries.When(req)}
	}
	t.Fatalf("reconcile %s: %v", key.Name, err)
	return res
}

func (h *harness) get(name string) *v1alpha1.D365Connection {
	h.t.Helper()
	conn := &v1alpha1.D365Connection{}
	if err := env.Client.Get(h.ctx, types.NamespacedName{Namespace: h.ns, Name: name}, conn); err != nil {
		h.t.Fatalf("getting connection %s: %v", name, err)
	}
	return conn
}

// secret returns the named Secret, or nil.
func (h *harness) secret(name string) *corev1.Secret {
	s := &corev1.Secret{}
	if err := env.Client.Get(h.ctx, types.NamespacedName{Namespace: h.ns, Name: name}, s); err != nil {
		return nil
	}
	return s
}

// condition returns a condition of the connection (zero when absent).
func (h *harness) condition(name, typ string) metav1.Condition {
	return *findCondition(h.get(name), typ)
}

// tokenRequests counts token requests for clientID that reached the simulator.
func (h *harness) tokenRequests() int {
	return h.sim.CountRequests(func(r simulator.Request) bool {
		return r.Method == "POST" && strings.HasSuffix(r.Path, "/token") && r.ClientID == clientID
	})
}

// whoAmIRequests counts WhoAmI calls that reached the simulator.
func (h *harness) whoAmIRequests() int {
	return h.sim.CountRequests(func(r simulator.Request) bool { return strings.HasSuffix(r.Path, "/WhoAmI") })
}

// requestsTo counts requests to a host.
func (h *harness) requestsTo(host string) int {
	return h.sim.CountRequests(func(r simulator.Request) bool { return r.Host == host })
}

// advanceTo moves the fake clock to t.
func (h *harness) advanceTo(t time.Time) { h.clock.SetTime(t) }

// assertNoLeaks: no client secret and no token issued in this test appears in captured
// logs, events, or any connection's status.
func (h *harness) assertNoLeaks() {
	h.t.Helper()
	all := h.observable()
	if strings.Contains(all, clientSecret) || strings.Contains(all, "rotated-"+clientSecret) {
		h.t.Errorf("a client secret appears in logs, events or status")
	}
	var secrets corev1.SecretList
	if err := env.Client.List(h.ctx, &secrets); err == nil {
		for _, s := range secrets.Items {
			if tok := string(s.Data[v1alpha1.SecretKeyAccessToken]); tok != "" && strings.Contains(all, tok[len(tok)-20:]) {
				h.t.Errorf("an access token appears in logs, events or status")
			}
			h.assertSecretValuesHidden(s, all)
		}
	}
}

// assertSecretValuesHidden: no value of a Secret the test made (whatever *Ref field read
// it) appears in what users see; the operator's output Secrets are what it shows anyway,
// and a value that some connection's spec also holds literally is public.
func (h *harness) assertSecretValuesHidden(s corev1.Secret, all string) {
	h.t.Helper()
	if s.Namespace != h.ns || s.Labels[v1alpha1.LabelManagedBy] == v1alpha1.ManagedByValue {
		return
	}
	var specs strings.Builder
	var list v1alpha1.D365ConnectionList
	if err := env.Client.List(h.ctx, &list); err == nil {
		for _, c := range list.Items {
			fmt.Fprintf(&specs, "%+v\n", c.Spec)
		}
	}
	for key, value := range s.Data {
		v := strings.TrimSpace(string(value))
		if len(v) >= minScrubbed && strings.Contains(all, v) && !strings.Contains(specs.String(), v) {
			h.t.Errorf("the value of Secret %s key %s appears in logs, events or status", s.Name, key)
		}
	}
}

// observable is what users and log readers see: captured logs, events, and every
// connection's status.
func (h *harness) observable() string {
	var b strings.Builder
	b.WriteString(h.logs.String())
	b.WriteString(h.events.String())
	var list v1alpha1.D365ConnectionList
	if err := env.Client.List(h.ctx, &list); err == nil {
		for _, c := range list.Items {
			fmt.Fprintf(&b, "%+v\n", c.Status)
		}
	}
	var identities v1alpha1.ClusterD365IdentityList
	if err := env.Client.List(h.ctx, &identities); err == nil {
		for _, id := range identities.Items {
			fmt.Fprintf(&b, "%+v\n", id.Status)
		}
	}
	return b.String()
}

type clientObject = interface {
	metav1.Object
	runtime.Object
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventLog records events (recorder.EventRecorder).
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (e *eventLog) Eventf(_ runtime.Object, _ runtime.Object, eventtype, reason, action, note string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, eventtype+" "+reason+" "+fmt.Sprintf(note, args...))
}

func (e *eventLog) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.events...)
}

func (e *eventLog) String() string { return strings.Join(e.list(), "\n") }

func simulatorSecret(value string) simulator.Secret { return simulator.Secret{Value: value} }
