package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// The request costs are what the control plane spends on each request a connection cannot
// do without, however little the operator does: the connection's create (by its owner),
// and from the operator one Secret create, one status write and one event (the first-token
// event). After the run, with the operator stopped, the benchmark repeats exactly those
// requests on scratch copies of the run's first connection, its Secret and its event, and
// reads kube-apiserver's and etcd's CPU around each kind. They are measured with the run's
// objects and history in the API server's memory, so they are what a request costs at
// that size (garbage collection grows with it): they say where the control plane's CPU
// goes, while the creation phase's own control plane CPU says how long it took.

const (
	requestCostNamespace = "bench-request-costs"
	// requestCostSamples bounds the requests of each kind (enough for a stable mean).
	requestCostSamples = 500
	// operatorFieldManager is the manager name the operator's writes carry, so that the
	// scratch objects' managedFields are as large as the real ones.
	operatorFieldManager = "d365-operator"
)

// requestCostFigures are the control plane's CPU per request kind.
type requestCostFigures struct {
	Samples int `json:"samples"`
	// CPUMsPerRequest is kube-apiserver + etcd CPU per request, in milliseconds, by kind.
	CPUMsPerRequest map[string]float64 `json:"cpuMsPerRequest"`
	// CPUMsPerConnection is their sum: what one connection costs the control plane.
	CPUMsPerConnection float64 `json:"cpuMsPerConnection"`
	// Seconds is N connections' CPUMsPerConnection over all the machine's CPUs.
	Seconds float64 `json:"seconds"`
}

// requestKinds are the request kinds in the order they are measured.
var requestKinds = []string{"connection create", "status write", "Secret create", "event create"}

// measureRequestCosts stops the operator and measures the request costs with copies of
// the first connection's objects.
func (b *bench) measureRequestCosts(ctx context.Context) (*requestCostFigures, error) {
	if err := b.stopOperators(); err != nil {
		return nil, err
	}
	// Every phase is over: the watches stop, so that the scratch objects neither enter the
	// run's figures nor cost the control plane a watch event each.
	b.stopBackground()
	model, err := b.requestModel(ctx)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, name := range []string{"kube-apiserver", "etcd"} {
		pid, ok := b.sampler.pid(name)
		if !ok {
			return nil, fmt.Errorf("no %s process to measure", name)
		}
		pids = append(pids, pid)
	}
	controlPlaneCPU := func() time.Duration {
		var total time.Duration
		for _, pid := range pids {
			if s, err := readProc(pid); err == nil {
				total += s.CPU
			}
		}
		return total
	}
	scratch := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: requestCostNamespace}}
	if err := b.client.Create(ctx, scratch); err != nil {
		return nil, err
	}
	n := min(b.o.Connections, requestCostSamples)
	b.logf("Measuring the control plane's cost of each request a connection cannot do without (%d of each)", n)

	// The control plane's idle use, per second, is subtracted over each measurement; its
	// asynchronous work (the watch cache) finishes within the settle time.
	const settle = time.Second
	idleFrom, idleStart := controlPlaneCPU(), time.Now()
	if err := sleepUntil(ctx, idleStart.Add(settle)); err != nil {
		return nil, err
	}
	idlePerSecond := float64(controlPlaneCPU()-idleFrom) / time.Since(idleStart).Seconds()

	conns := make([]*v1alpha1.D365Connection, n)
	steps := map[string]func(context.Context, int) error{
		"connection create": func(ctx context.Context, i int) error {
			conns[i] = &v1alpha1.D365Connection{
				ObjectMeta: metav1.ObjectMeta{Namespace: requestCostNamespace, Name: fmt.Sprintf("f-%05d", i)},
				Spec:       *model.conn.Spec.DeepCopy(),
			}
			return b.client.Create(ctx, conns[i])
		},
		"status write": func(ctx context.Context, i int) error {
			base := conns[i].DeepCopy()
			conns[i].Status = *model.conn.Status.DeepCopy()
			return b.client.Status().Patch(ctx, conns[i], client.MergeFrom(base), client.FieldOwner(operatorFieldManager))
		},
		"Secret create": func(ctx context.Context, i int) error {
			s := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: requestCostNamespace, Name: conns[i].Name + "-token",
					Labels: model.secret.Labels, Annotations: model.secret.Annotations,
					OwnerReferences: []metav1.OwnerReference{
						*metav1.NewControllerRef(conns[i], v1alpha1.GroupVersion.WithKind("D365Connection"))}},
				Type: model.secret.Type,
				Data: model.secret.Data,
			}
			return b.client.Create(ctx, s, client.FieldOwner(operatorFieldManager))
		},
		"event create": func(ctx context.Context, i int) error {
			e := model.event.DeepCopy()
			name := fmt.Sprintf("%s.%x", conns[i].Name, time.Now().UnixNano())
			e.ObjectMeta = metav1.ObjectMeta{Namespace: requestCostNamespace, Name: name}
			e.EventTime = metav1.NewMicroTime(time.Now())
			e.Regarding = corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "D365Connection",
				Namespace: requestCostNamespace, Name: conns[i].Name, UID: conns[i].UID, ResourceVersion: conns[i].ResourceVersion}
			return b.client.Create(ctx, e, client.FieldOwner(operatorFieldManager))
		},
	}
	f := &requestCostFigures{Samples: n, CPUMsPerRequest: map[string]float64{}}
	for _, kind := range requestKinds {
		from, start := controlPlaneCPU(), time.Now()
		if _, err := forEach(ctx, b.o.CreateWorkers, n, steps[kind]); err != nil {
			return nil, fmt.Errorf("request costs, %s: %w", kind, err)
		}
		if err := sleepUntil(ctx, time.Now().Add(settle)); err != nil {
			return nil, err
		}
		took := float64(controlPlaneCPU()-from) - idlePerSecond*time.Since(start).Seconds()
		ms := max(took, 0) / float64(time.Millisecond) / float64(n)
		f.CPUMsPerRequest[kind] = ms
		f.CPUMsPerConnection += ms
	}
	f.Seconds = f.CPUMsPerConnection / 1000 * float64(b.o.Connections) / float64(runtime.NumCPU())
	return f, nil
}

// requestModel is the run's first connection, its output Secret and its first-token event.
type requestModel struct {
	conn   v1alpha1.D365Connection
	secret corev1.Secret
	event  eventsv1.Event
}

func (b *bench) requestModel(ctx context.Context) (requestModel, error) {
	var m requestModel
	ns, name := b.o.connectionKey(0)
	if err := b.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &m.conn); err != nil {
		return m, err
	}
	secretKey := client.ObjectKey{Namespace: ns, Name: m.conn.Status.TargetSecretName}
	if err := b.client.Get(ctx, secretKey, &m.secret); err != nil {
		return m, err
	}
	events := &eventsv1.EventList{}
	if err := b.client.List(ctx, events, client.InNamespace(ns)); err != nil {
		return m, err
	}
	for _, e := range events.Items {
		if e.Regarding.Name == name && e.Reason == v1alpha1.ReasonTokenIssued {
			m.event = e
			return m, nil
		}
	}
	return m, fmt.Errorf("no %s event for %s/%s", v1alpha1.ReasonTokenIssued, ns, name)
}
