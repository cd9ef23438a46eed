package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// inShard labels a connection for shard n.
func inShard(n string) func(*v1alpha1.D365Connection) {
	return func(c *v1alpha1.D365Connection) {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[v1alpha1.LabelShard] = n
	}
}

// inCache reports whether the manager's cache holds the named Secret.
func (h *harness) inCache(name string) bool {
	h.t.Helper()
	err := h.cache.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: name}, &corev1.Secret{})
	if err != nil && !apierrors.IsNotFound(err) {
		h.t.Fatalf("reading Secret %s from the cache: %v", name, err)
	}
	return err == nil
}

// The output-Secret informer selects managed-by AND the watch selector's requirements on
// the shard label, and only those: the Secret carries no other label of its connection.
func TestOutputSecretSelectorKeepsOnlyTheShardRequirements(t *testing.T) {
	for watch, want := range map[string]string{
		"":                                  "app.kubernetes.io/managed-by=d365-operator",
		"!d365.operators.dev/shard":         "app.kubernetes.io/managed-by=d365-operator,!d365.operators.dev/shard",
		"d365.operators.dev/shard=1":        "app.kubernetes.io/managed-by=d365-operator,d365.operators.dev/shard=1",
		"d365.operators.dev/shard=1,team=a": "app.kubernetes.io/managed-by=d365-operator,d365.operators.dev/shard=1",
		"d365.operators.dev/shard in (1,2)": "app.kubernetes.io/managed-by=d365-operator,d365.operators.dev/shard in (1,2)",
		"team=a":                            "app.kubernetes.io/managed-by=d365-operator",
	} {
		var selector labels.Selector
		if watch != "" {
			var err error
			if selector, err = labels.Parse(watch); err != nil {
				t.Fatal(err)
			}
		}
		if got := outputSecretSelector(selector).String(); got != want {
			t.Errorf("watch %q: Secret selector %q, want %q", watch, got, want)
		}
	}
}

// A connection's output Secret carries its shard label, follows a change of it (without a
// token request) and loses it with the connection's; a Secret already right is not written.
func TestOutputSecretFollowsItsConnectionsShardLabel(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales", inShard("1"))
	h.reconcile("sales")
	shardOf := func() (string, bool) {
		v, ok := h.secret("sales-token").Labels[v1alpha1.LabelShard]
		return v, ok
	}
	if v, ok := shardOf(); v != "1" || !ok {
		t.Fatalf("output Secret shard label %q (present %v), want 1", v, ok)
	}

	h.update("sales", inShard("2"))
	h.reconcile("sales")
	if v, _ := shardOf(); v != "2" {
		t.Errorf("after the connection moved to shard 2 the Secret's shard label is %q", v)
	}

	h.update("sales", func(c *v1alpha1.D365Connection) { delete(c.Labels, v1alpha1.LabelShard) })
	h.reconcile("sales")
	if v, ok := shardOf(); ok {
		t.Errorf("the connection lost its shard label, the Secret keeps %q", v)
	}
	version := h.secret("sales-token").ResourceVersion
	h.reconcile("sales")
	if h.secret("sales-token").ResourceVersion != version {
		t.Error("a reconcile that changes nothing wrote the output Secret")
	}
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1: relabelling keeps the token held", n)
	}
}

// A shard's Secret informer holds its own connections' output Secrets (which carry its
// label) and not another shard's.
func TestAShardCachesOnlyItsOwnOutputSecrets(t *testing.T) {
	h := newHarness(t)
	h.startShard(v1alpha1.LabelShard + "=1")
	h.appSecret(clientSecret)
	h.connection("sales", inShard("1"))
	h.eventually("Ready", func() bool {
		return h.condition("sales", v1alpha1.ConditionReady).Status == metav1.ConditionTrue
	})
	if v := h.secret("sales-token").Labels[v1alpha1.LabelShard]; v != "1" {
		t.Errorf("output Secret shard label %q, want 1", v)
	}
	h.eventually("the output Secret in the shard's cache", func() bool { return h.inCache("sales-token") })

	// Another shard's output Secret, made here as shard 2 would make it.
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "billing-token",
		Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelShard: "2"}}})
	// An output Secret of shard 1 made after it: once that is cached, so would the other be.
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "marker-token",
		Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelShard: "1"}}})
	h.eventually("the later shard-1 Secret in the cache", func() bool { return h.inCache("marker-token") })
	if h.inCache("billing-token") {
		t.Error("shard 1 caches shard 2's output Secret")
	}
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// Upgrading a sharded fleet: an output Secret written before Secrets carried the shard
// label is outside its shard's cache. The shard reads it from the API server, keeps the
// valid token it holds (no token request), and labels it, which brings it into the cache.
func TestAShardAdoptsItsUnlabelledOutputSecretWithoutATokenRequest(t *testing.T) {
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	before := h.secret("sales-token")
	if _, ok := before.Labels[v1alpha1.LabelShard]; ok || h.tokenRequests() != 1 {
		t.Fatalf("setup: shard label %v, %d token requests", before.Labels, h.tokenRequests())
	}

	// `shard assign` labels the connection; a new process (no token in memory) runs shard 1.
	h.update("sales", inShard("1"))
	h.restartOperator()
	h.startShard(v1alpha1.LabelShard + "=1")

	h.eventually("the output Secret labelled for shard 1", func() bool {
		return h.secret("sales-token").Labels[v1alpha1.LabelShard] == "1"
	})
	h.eventually("the output Secret in the shard's cache", func() bool { return h.inCache("sales-token") })
	after := h.secret("sales-token")
	if string(after.Data[v1alpha1.SecretKeyAccessToken]) != string(before.Data[v1alpha1.SecretKeyAccessToken]) {
		t.Error("the output Secret got a new token; the one it held was still valid")
	}
	if n := h.tokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1: the held token is kept", n)
	}
	if c := h.condition("sales", v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %s (%s: %s)", c.Status, c.Reason, c.Message)
	}
	// At rest, the relabelled Secret is not written again.
	version := after.ResourceVersion
	h.update("sales", func(c *v1alpha1.D365Connection) {
		c.Annotations = map[string]string{"nudge": "reconcile"}
	})
	// Nothing to wait for when nothing is written: give the reconcile time to happen.
	time.Sleep(2 * time.Second)
	if got := h.secret("sales-token").ResourceVersion; got != version {
		t.Errorf("the labelled Secret was written again (resourceVersion %s → %s)", version, got)
	}
}
