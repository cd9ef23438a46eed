package controller

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// TestManagerReconcilesThroughWatches runs the controller in a real manager: nothing
// calls Reconcile directly, so each step below is reached through a watch.
func TestManagerReconcilesThroughWatches(t *testing.T) {
	h := newHarness(t)
	h.startManager()

	// 1. A connection whose Secret is missing says so.
	h.connection("sales")
	h.eventually("Ready=False SecretNotFound", func() bool {
		return h.condition("sales", v1alpha1.ConditionReady).Reason == v1alpha1.ReasonSecretNotFound
	})

	// 2. Creating the Secret reconciles the connection at once (referenced-Secret watch).
	h.appSecret(clientSecret)
	h.eventually("Ready=True after the Secret appeared", func() bool {
		return h.condition("sales", v1alpha1.ConditionReady).Status == metav1.ConditionTrue
	})

	// 3. A deleted output Secret is restored (owned-Secret watch), without a new token.
	if err := env.Client.Delete(h.ctx, h.secret("sales-token")); err != nil {
		t.Fatal(err)
	}
	h.eventually("the output Secret restored", func() bool { return h.secret("sales-token") != nil })
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want the held token reused when restoring the Secret", n)
	}

	// 4. A rotated client secret is used within seconds.
	rotated := "rotated-" + clientSecret
	h.sim.SetAppSecrets(tenantID, clientID, simulatorSecret(rotated))
	s := h.secret("d365-app")
	s.Data["client-secret"] = []byte(rotated)
	if err := env.Client.Update(h.ctx, s); err != nil {
		t.Fatal(err)
	}
	h.eventually("a token minted with the rotated secret", func() bool { return h.tokenRequests() == 2 })
	h.eventually("Ready=True after rotation", func() bool {
		return h.condition("sales", v1alpha1.ConditionReady).Status == metav1.ConditionTrue
	})
}

// eventually polls cond for up to 30 seconds.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for %s", what)
}

// startManager runs the controller in a real manager, scoped to the harness's namespace,
// until the test ends: changes then reach it through its watches only.
func (h *harness) startManager() {
	h.t.Helper()
	h.startManagerIn(h.ns)
}

// startManagerIn is startManager scoped to the given namespaces, with the identity
// controller too.
func (h *harness) startManagerIn(watched ...string) {
	h.t.Helper()
	h.startShardIn("", watched...)
}

// startShard is startManager as cmd/main.go sets it up with --watch-label-selector=selector.
func (h *harness) startShard(selector string) {
	h.t.Helper()
	h.startShardIn(selector, h.ns)
}

// startShardIn runs the controllers in a real manager scoped to the given namespaces, as
// cmd/main.go sets them up with --watch-label-selector=selector ("": unsharded).
func (h *harness) startShardIn(selector string, watched ...string) {
	t := h.t
	t.Helper()
	var shard labels.Selector
	if selector != "" {
		var err error
		if shard, err = labels.Parse(selector); err != nil {
			t.Fatal(err)
		}
	}
	// One entry per kind: ByObject is keyed by pointer, and two entries for Secrets would
	// be applied in the map's random order.
	byObject := map[client.Object]cache.ByObject{&corev1.Secret{}: OutputSecretCacheOptions(shard)}
	if shard != nil {
		byObject[&v1alpha1.D365Connection{}] = cache.ByObject{Label: shard}
	}
	namespaces := map[string]cache.Config{}
	for _, ns := range watched {
		namespaces[ns] = cache.Config{}
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Scoped to this test's namespace (as --watch-namespaces does): other tests'
		// connections stay in the cluster and must not reach this test's simulator.
		Cache:      cache.Options{DefaultNamespaces: namespaces, ByObject: byObject},
		Controller: config.Controller{SkipNameValidation: new(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.cache = mgr.GetCache()
	secretMetadata, err := NewSecretMetadataCache(mgr, namespaces)
	if err != nil {
		t.Fatal(err)
	}
	h.metadata = secretMetadata
	d := h.r.Dependencies
	d.Client, d.APIReader, d.SecretMetadata = mgr.GetClient(), mgr.GetAPIReader(), secretMetadata
	connections := New(d)
	if err := connections.SetupWithManager(mgr, secretMetadata, 2); err != nil {
		t.Fatal(err)
	}
	if err := NewIdentityReconciler(connections, shard).SetupWithManager(mgr, secretMetadata); err != nil {
		t.Fatal(err)
	}
	h.managed = connections
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

}

// The metadata cache of every Secret in the cluster keeps no labels and no annotations:
// kubectl's last-applied-configuration would otherwise put Secrets' data in its memory.
func TestMetadataCacheKeepsNoSecretAnnotations(t *testing.T) {
	h := newHarness(t)
	h.startManager()
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "applied",
		Labels:      map[string]string{"team": "a"},
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"password":"aHVudGVyMg=="}}`}},
		StringData: map[string]string{"password": "hunter2-applied-client-side"}})
	cached := &metav1.PartialObjectMetadata{}
	cached.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	h.eventually("the Secret in the metadata cache", func() bool {
		return h.metadata.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: "applied"}, cached) == nil
	})
	if len(cached.Annotations) != 0 || len(cached.Labels) != 0 || len(cached.ManagedFields) != 0 {
		t.Errorf("cached metadata keeps annotations %v, labels %v, %d managed fields", cached.Annotations, cached.Labels, len(cached.ManagedFields))
	}
	if cached.ResourceVersion == "" || cached.UID == "" {
		t.Error("the cache lost what change detection needs")
	}
}
