package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// Each write is counted from a watch, not from the operator's own figures: the API server
// sends every change of an object as one event with a new resourceVersion, so the events
// are the writes, whoever made them.

// startWatches lists and starts watching connections and output Secrets in all namespaces.
// It returns once both watches are established; events then flow into t until ctx ends.
func startWatches(ctx context.Context, c client.WithWatch, t *tracker) error {
	selector := v1alpha1.LabelManagedBy + "=" + v1alpha1.ManagedByValue
	connections := &resumableWatch{
		client: c, tracker: t, what: "connections",
		list: func() client.ObjectList { return &v1alpha1.D365ConnectionList{} },
		handle: func(at time.Time, typ watch.EventType, obj any) {
			if conn, ok := obj.(*v1alpha1.D365Connection); ok {
				t.connectionEvent(at, typ == watch.Modified, conn)
			}
		},
	}
	secrets := &resumableWatch{
		client: c, tracker: t, what: "output Secrets", selector: selector,
		list: func() client.ObjectList { return &corev1.SecretList{} },
		handle: func(at time.Time, _ watch.EventType, obj any) {
			if s, ok := obj.(*corev1.Secret); ok {
				t.secretEvent(at, s)
			}
		},
	}
	for _, w := range []*resumableWatch{connections, secrets} {
		if err := w.start(ctx); err != nil {
			return err
		}
		go w.run(ctx)
	}
	return nil
}

// resumableWatch is a watch that resumes from the last resourceVersion when the API server
// closes it (watches time out), so that no event is lost over a long run.
type resumableWatch struct {
	client   client.WithWatch
	tracker  *tracker
	what     string
	selector string
	list     func() client.ObjectList
	handle   func(at time.Time, typ watch.EventType, obj any)

	rv string
	w  watch.Interface
}

// start lists (for the resourceVersion) and opens the watch.
func (r *resumableWatch) start(ctx context.Context) error {
	l := r.list()
	if err := r.client.List(ctx, l, &client.ListOptions{Raw: &metav1.ListOptions{LabelSelector: r.selector}}); err != nil {
		return fmt.Errorf("listing %s: %w", r.what, err)
	}
	r.rv = l.(metav1.ListInterface).GetResourceVersion()
	return r.open(ctx)
}

func (r *resumableWatch) open(ctx context.Context) error {
	w, err := r.client.Watch(ctx, r.list(), &client.ListOptions{Raw: &metav1.ListOptions{
		LabelSelector: r.selector, ResourceVersion: r.rv, AllowWatchBookmarks: true,
	}})
	if err != nil {
		return fmt.Errorf("watching %s: %w", r.what, err)
	}
	r.w = w
	return nil
}

// run consumes events until ctx ends, reopening the watch when the server closes it.
func (r *resumableWatch) run(ctx context.Context) {
	for {
		r.consume(ctx)
		r.w.Stop()
		if ctx.Err() != nil {
			return
		}
		for r.open(ctx) != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

func (r *resumableWatch) consume(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-r.w.ResultChan():
			if !ok {
				return
			}
			at := time.Now()
			switch ev.Type {
			case watch.Added, watch.Modified, watch.Bookmark:
				if m, err := meta.Accessor(ev.Object); err == nil {
					r.rv = m.GetResourceVersion()
				}
				if ev.Type != watch.Bookmark {
					r.handle(at, ev.Type, ev.Object)
				}
			case watch.Deleted:
				if m, err := meta.Accessor(ev.Object); err == nil {
					r.rv = m.GetResourceVersion()
				}
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				r.tracker.note(fmt.Sprintf("watch of %s: %v; relisting (writes in between are not counted)", r.what, err))
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					l := r.list()
					opts := &client.ListOptions{Raw: &metav1.ListOptions{LabelSelector: r.selector}}
					if lerr := r.client.List(ctx, l, opts); lerr == nil {
						r.rv = l.(metav1.ListInterface).GetResourceVersion()
					}
				}
				return
			}
		}
	}
}
