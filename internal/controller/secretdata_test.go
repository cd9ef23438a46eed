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
		secret.Data = map[string][]byte{"client-secret": []byte("value-at-" + version)}
	}
	return nil
}

func (s *secretAtVersion) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return nil
}

func TestReferencedSecretIsReadOncePerVersion(t *testing.T) {
	api := &secretAtVersion{version: "1"}
	data := newReferencedSecretData(api, api)
	key := types.NamespacedName{Namespace: "team", Name: "app"}

	var wg sync.WaitGroup
	for range 25 {
		wg.Go(func() {
			got, err := data.get(context.Background(), key)
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
		if got, _ := data.get(context.Background(), key); string(got["client-secret"]) != "value-at-2" {
			t.Fatalf("after rotation got %q, want the new value", got["client-secret"])
		}
	}
	if n := api.reads.Load(); n != 2 {
		t.Errorf("%d reads in all, want 2: one per version", n)
	}
}

var _ client.Reader = &secretAtVersion{}
