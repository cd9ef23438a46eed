package controller

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// secretAtVersion is a reader that holds one Secret at a resourceVersion and counts full
// reads; as the metadata reader it answers the version only.
type secretAtVersion struct {
	mu      sync.Mutex
	version string
	reads   atomic.Int32
}

func (s *secretAtVersion) Get(_ context.Context, _ client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	s.mu.Lock()
	version := s.version
	s.mu.Unlock()
	obj.SetResourceVersion(version)
	if secret, ok := obj.(*corev1.Secret); ok {
		s.reads.Add(1)
		time.Sleep(20 * time.Millisecond) // a read in flight, for callers to join
		secret.Data = map[string][]byte{"client-secret": []byte("value-at-" + version), "db-password": []byte("unreferenced")}
	}
	return nil
}

func (s *secretAtVersion) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return nil
}

// want is the key the tests' connections reference; keepAsked keeps only the keys asked for.
var want = []string{"client-secret"}

func keepAsked(asked []string) []string { return asked }

func TestReferencedSecretIsReadOncePerVersion(t *testing.T) {
	api := &secretAtVersion{version: "1"}
	data := newReferencedSecretData(api, api)
	key := types.NamespacedName{Namespace: "team", Name: "app"}

	var wg sync.WaitGroup
	for range 25 {
		wg.Go(func() {
			got, err := data.get(context.Background(), key, want, keepAsked)
			if err != nil || string(got["client-secret"]) != "value-at-1" {
				t.Errorf("got %q, %v", got["client-secret"], err)
			}
		})
	}
	wg.Wait()
	if n := api.reads.Load(); n != 1 {
		t.Errorf("%d reads for 25 connections referencing one Secret at once, want 1", n)
	}

	// A rotated Secret (new resourceVersion) is read afresh, once.
	api.mu.Lock()
	api.version = "2"
	api.mu.Unlock()
	for range 3 {
		if got, _ := data.get(context.Background(), key, want, keepAsked); string(got["client-secret"]) != "value-at-2" {
			t.Fatalf("after rotation got %q, want the new value", got["client-secret"])
		}
	}
	if n := api.reads.Load(); n != 2 {
		t.Errorf("%d reads in all, want 2: one per version", n)
	}
}

// Only the keys connections reference are kept, and a Secret no connection references any
// more is dropped from memory.
func TestReferencedSecretDataKeepsOnlyWhatIsReferenced(t *testing.T) {
	api := &secretAtVersion{version: "1"}
	data := newReferencedSecretData(api, api)
	key := types.NamespacedName{Namespace: "team", Name: "app"}
	got, err := data.get(context.Background(), key, want, keepAsked)
	if err != nil || len(got) != 1 || string(got["client-secret"]) != "value-at-1" {
		t.Fatalf("got %d keys (%v), want only the referenced one", len(got), err)
	}
	data.forgetUnreferenced(func(types.NamespacedName) bool { return true })
	if n := data.byVersion.Len(); n != 1 {
		t.Errorf("%d Secrets held, want the referenced one kept", n)
	}
	data.forgetUnreferenced(func(types.NamespacedName) bool { return false })
	if n := data.byVersion.Len(); n != 0 {
		t.Errorf("%d Secrets held after no connection references them, want none", n)
	}
}

var _ client.Reader = &secretAtVersion{}
