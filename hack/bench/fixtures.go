package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/shard"
)

// The benchmark's objects: namespaces bench-000, bench-001, ..., in each the credential
// Secrets of the identities its connections use, and connections c-00000, c-00001, ...

func namespaceName(i int) string { return fmt.Sprintf("bench-%03d", i) }

func connectionName(i int) string { return fmt.Sprintf("c-%05d", i) }

func credentialSecretName(identity int) string { return fmt.Sprintf("bench-app-%03d", identity) }

// connectionKey is "namespace/name" of connection i; output Secrets are "namespace/name-token".
func (o *options) connectionKey(i int) (namespace, name string) {
	return namespaceName(i / o.PerNamespace), connectionName(i)
}

// createCredentials creates the namespaces and, in each, one Secret per identity its
// connections use (the same client secret value in every namespace: one identity).
func createCredentials(ctx context.Context, c client.Client, o options, w world) error {
	needs := map[int]map[int]bool{}
	for i := range o.Connections {
		ns := i / o.PerNamespace
		if needs[ns] == nil {
			needs[ns] = map[int]bool{}
		}
		needs[ns][w.assignment(i).Identity] = true
	}
	objs := make([]client.Object, 0, o.namespaces())
	for ns := range o.namespaces() {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaceName(ns)}})
	}
	var secrets []client.Object
	for ns := range o.namespaces() {
		for id := range needs[ns] {
			secrets = append(secrets, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: namespaceName(ns), Name: credentialSecretName(id)},
				Type:       corev1.SecretTypeOpaque,
				StringData: map[string]string{"client-id": w.Identities[id].ClientID, "client-secret": w.Identities[id].Secret},
			})
		}
	}
	nth := func(list []client.Object) func(int) client.Object {
		return func(i int) client.Object { return list[i] }
	}
	if _, err := createAll(ctx, c, o.CreateWorkers, len(objs), nth(objs), nil); err != nil {
		return fmt.Errorf("creating namespaces: %w", err)
	}
	if _, err := createAll(ctx, c, o.CreateWorkers, len(secrets), nth(secrets), nil); err != nil {
		return fmt.Errorf("creating credential Secrets: %w", err)
	}
	return nil
}

// connection returns connection i's object.
func connection(o options, w world, i int) *v1alpha1.D365Connection {
	ns, name := o.connectionKey(i)
	p := w.assignment(i)
	ref := credentialSecretName(p.Identity)
	conn := &v1alpha1.D365Connection{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.D365ConnectionSpec{
			EnvironmentURL: "https://" + w.EnvHosts[p.Env],
			Auth: v1alpha1.AuthSpec{ClientSecret: &v1alpha1.ClientSecretAuth{
				ClientIDRef:     &v1alpha1.SecretKeyRef{Name: ref, Key: "client-id"},
				ClientSecretRef: v1alpha1.SecretKeyRef{Name: ref, Key: "client-secret"},
			}},
		},
	}
	// The label `d365-operator shard assign` would give it: the shard of its client ID.
	if v := shard.LabelValue(shard.Index(shard.ClientIDKey(w.Identities[p.Identity].ClientID), o.Shards)); v != "" {
		conn.Labels = map[string]string{shard.Label: v}
	}
	if o.HealthInterval > 0 {
		conn.Spec.HealthCheck.Interval = &metav1.Duration{Duration: o.HealthInterval}
	}
	if i%2 == 1 {
		shapeOutput(conn)
	}
	// Every connection checks a privilege: the check is shared per (identity, environment).
	conn.Spec.HealthCheck.RequiredPrivileges = []v1alpha1.RequiredPrivilege{"prvReadAccount:Global"}
	return conn
}

// shapeOutput gives a connection a secretTemplate and rendered keys, so that the figures
// (one Secret write per token, none at rest) hold for shaped output Secrets too.
func shapeOutput(conn *v1alpha1.D365Connection) {
	conn.Spec.Target.SecretTemplate = &v1alpha1.SecretTemplate{Labels: map[string]string{"bench": "shaped"}}
	conn.Spec.Target.Template = &v1alpha1.OutputTemplate{Data: map[string]v1alpha1.TemplateText{
		"authorization": "Bearer {{ .AccessToken }}",
		"token.json":    `{"access_token": {{ .AccessToken | quote }}, "expires_on": {{ .ExpiresAt | unix }}}`,
	}}
}

// createConnections creates the N connections with CreateWorkers in parallel, telling
// started when each create is sent (the start of its time to Ready). It returns how long
// the creates took.
func createConnections(ctx context.Context, c client.Client, o options, w world,
	started func(i int, at time.Time)) (time.Duration, error) {
	conn := func(i int) client.Object { return connection(o, w, i) }
	return createAll(ctx, c, o.CreateWorkers, o.Connections, conn, started)
}

// createAll creates n objects with the given parallelism and returns the wall time taken.
// The first error stops the remaining creates.
func createAll(ctx context.Context, c client.Client, workers, n int,
	obj func(int) client.Object, started func(int, time.Time)) (time.Duration, error) {
	return forEach(ctx, workers, n, func(ctx context.Context, i int) error {
		o := obj(i)
		if started != nil {
			started(i, time.Now())
		}
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %s/%s: %w", o.GetNamespace(), o.GetName(), err)
		}
		return nil
	})
}

// forEach runs do(0..n-1) with the given parallelism and returns the wall time taken.
// The first error stops the remaining calls.
func forEach(ctx context.Context, workers, n int, do func(context.Context, int) error) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	begin := time.Now()
	var next atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := do(ctx, i); err != nil {
					once.Do(func() {
						firstErr = err
						cancel()
					})
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(begin), firstErr
}
