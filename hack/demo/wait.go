package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// pollInterval is how often the demo reads the connections while waiting.
const pollInterval = 500 * time.Millisecond

// waitReady waits until every connection is Ready=True for its current generation. It fails
// early when the operator exits, and on timeout says what each connection last reported.
func waitReady(ctx context.Context, c client.Client, conns []*v1alpha1.D365Connection, op *operator,
	timeout time.Duration, logPath string) error {
	var pending []string
	err := poll(ctx, op, timeout, func() (bool, error) {
		var err error
		pending, err = notReady(ctx, c, conns)
		return len(pending) == 0, err
	})
	if err != nil && len(pending) > 0 {
		return fmt.Errorf("%w waiting for Ready:\n  %s\nsee the operator's log: %s",
			err, strings.Join(pending, "\n  "), logPath)
	}
	return err
}

// notReady re-reads the connections and describes each one that is not yet Ready.
func notReady(ctx context.Context, c client.Client, conns []*v1alpha1.D365Connection) ([]string, error) {
	var pending []string
	for _, conn := range conns {
		if err := c.Get(ctx, client.ObjectKeyFromObject(conn), conn); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, fmt.Errorf("interrupted while waiting for Ready: %w", err)
			}
			return nil, fmt.Errorf("reading %s/%s: %w", conn.Namespace, conn.Name, err)
		}
		ready := meta.FindStatusCondition(conn.Status.Conditions, v1alpha1.ConditionReady)
		name := conn.Namespace + "/" + conn.Name
		switch {
		case ready == nil:
			pending = append(pending, name+": no Ready condition yet (is the operator reconciling?)")
		case ready.Status != "True" || conn.Status.ObservedGeneration < conn.Generation:
			pending = append(pending, fmt.Sprintf("%s: Ready=%s reason=%s: %s", name, ready.Status, ready.Reason, ready.Message))
		}
	}
	return pending, nil
}

// waitReason waits until the connection's Ready condition has the reason, and returns it.
func waitReason(ctx context.Context, c client.Client, conn *v1alpha1.D365Connection, reason string, op *operator,
	timeout time.Duration) (*metav1.Condition, error) {
	var last string
	err := poll(ctx, op, timeout, func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(conn), conn); err != nil {
			return false, fmt.Errorf("reading %s/%s: %w", conn.Namespace, conn.Name, err)
		}
		ready := meta.FindStatusCondition(conn.Status.Conditions, v1alpha1.ConditionReady)
		if ready != nil {
			last = ready.Reason
		}
		return ready != nil && ready.Reason == reason, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for %s/%s to report %s (last: %q): %w", conn.Namespace, conn.Name, reason, last, err)
	}
	return meta.FindStatusCondition(conn.Status.Conditions, v1alpha1.ConditionReady), nil
}

// waitIdentity waits until the identity's status describes its current generation, is
// Ready and counts the connections using it.
func waitIdentity(ctx context.Context, c client.Client, name string, connections int32, op *operator,
	timeout time.Duration) (*v1alpha1.ClusterD365Identity, error) {
	id := &v1alpha1.ClusterD365Identity{}
	var last string
	err := poll(ctx, op, timeout, func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, id); err != nil {
			return false, fmt.Errorf("reading ClusterD365Identity %s: %w", name, err)
		}
		ready := meta.FindStatusCondition(id.Status.Conditions, v1alpha1.ConditionReady)
		if ready == nil {
			return false, nil
		}
		last = fmt.Sprintf("Ready=%s %s, %d connections", ready.Status, ready.Reason, id.Status.Connections)
		return ready.Status == metav1.ConditionTrue && id.Status.ObservedGeneration == id.Generation &&
			id.Status.Connections == connections, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for ClusterD365Identity %s to be Ready with %d connections (last: %s): %w",
			name, connections, last, err)
	}
	return id, nil
}

// poll calls done every pollInterval until it says so, fails, the operator exits, ctx ends
// or timeout passes.
func poll(ctx context.Context, op *operator, timeout time.Duration, done func() (bool, error)) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted: %w", ctx.Err())
		case <-op.exited:
			return fmt.Errorf("the operator exited (%s)", exitDescription(op.waitErr))
		case <-deadline.C:
			return fmt.Errorf("timed out after %s", timeout)
		case <-tick.C:
		}
	}
}
