package controller

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// TestSecretCacheMemory measures what one output Secret costs in each of the operator's
// two Secret caches: the output-Secret informer (full objects, managed fields stripped;
// selected by shard) and the metadata-only cache of every Secret (not selected by shard:
// every shard holds all of it), and checks that each holds what it should. It runs with
// defaultMeasuredSecrets copies; measure at scale with
//
//	D365_MEASURE_SECRET_CACHES=10000 go test ./internal/controller -run TestSecretCacheMemory -v
//
// The Secrets are copies of a real output Secret (same token, labels, annotations, owner).
func TestSecretCacheMemory(t *testing.T) {
	count, _ := strconv.Atoi(os.Getenv("D365_MEASURE_SECRET_CACHES"))
	if count <= 0 {
		count = defaultMeasuredSecrets
	}
	h := newHarness(t)
	h.appSecret(clientSecret)
	h.connection("sales")
	h.reconcile("sales")
	original := h.secret("sales-token")
	createCopies(t, h, original, count)
	secrets := count + 2 // the copies, the original and the app's credential Secret

	// The caches as cmd/main.go builds them, on one HTTP client and a REST mapper that
	// already knows Secrets, so that neither is counted as a cache's.
	httpClient, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(env.Config, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mapper.RESTMapping(corev1.SchemeGroupVersion.WithKind("Secret").GroupKind(), "v1"); err != nil {
		t.Fatal(err)
	}
	namespaces := map[string]cache.Config{h.ns: {}}
	metadataOpts := secretMetadataCacheOptions(namespaces)
	outputOpts := cache.Options{DefaultNamespaces: namespaces, DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: OutputSecretCacheOptions(nil)}}

	before := heapInUse()
	metadata := startCache(t, h, metadataOpts, httpClient, mapper,
		&metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}})
	withMetadata := heapInUse()
	output := startCache(t, h, outputOpts, httpClient, mapper, &corev1.Secret{})
	withBoth := heapInUse()
	runtime.KeepAlive(metadata)
	runtime.KeepAlive(output)
	var all metav1.PartialObjectMetadataList
	all.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := metadata.List(h.ctx, &all); err != nil || len(all.Items) != secrets {
		t.Errorf("the metadata cache holds %d Secrets (%v), want all %d", len(all.Items), err, secrets)
	}
	var ours corev1.SecretList
	if err := output.List(h.ctx, &ours); err != nil || len(ours.Items) != secrets-1 {
		t.Errorf("the output-Secret informer holds %d Secrets (%v), want the %d output Secrets only", len(ours.Items), err, secrets-1)
	}

	perSecret := func(b uint64) float64 { return float64(b) / float64(secrets) }
	t.Logf("output Secret: %d B of data (access_token %d B), %d B of labels and annotations",
		dataSize(original.Data), len(original.Data[v1alpha1.SecretKeyAccessToken]), mapSize(original.Labels)+mapSize(original.Annotations))
	t.Logf("%d Secrets, %d of them output Secrets: metadata-only cache %.1f MiB (%.0f B per Secret); output-Secret informer %.1f MiB (%.0f B per output Secret)",
		secrets, secrets-1, mib(withMetadata-before), perSecret(withMetadata-before),
		mib(withBoth-withMetadata), float64(withBoth-withMetadata)/float64(secrets-1))
}

// defaultMeasuredSecrets is how many output Secrets every test run measures with: enough
// to see the per-Secret cost, few enough for a second or two.
const defaultMeasuredSecrets = 200

// createCopies creates count copies of an output Secret, a few at a time.
func createCopies(t *testing.T, h *harness, original *corev1.Secret, count int) {
	t.Helper()
	var wg sync.WaitGroup
	names := make(chan int)
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for i := range names {
				s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: fmt.Sprintf("copy-%d-token", i),
					Labels: original.Labels, Annotations: original.Annotations, OwnerReferences: original.OwnerReferences},
					Type: original.Type, Data: original.Data}
				if err := env.Client.Create(h.ctx, s); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range count {
		names <- i
	}
	close(names)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("creating the copies: %v", err)
	}
}

// startCache starts a cache with opts until the test ends and waits until its informer of
// obj's kind holds the list.
func startCache(t *testing.T, h *harness, opts cache.Options, httpClient *http.Client, mapper meta.RESTMapper, obj client.Object) cache.Cache {
	t.Helper()
	opts.Scheme, opts.HTTPClient, opts.Mapper = env.Scheme, httpClient, mapper
	c, err := cache.New(env.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Start(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	informer, err := c.GetInformer(ctx, obj)
	if err != nil {
		t.Fatal(err)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("the informer did not sync")
	}
	return c
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func dataSize(m map[string][]byte) (n int) {
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

func mapSize(m map[string]string) (n int) {
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}
