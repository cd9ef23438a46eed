package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// pollInterval is how often the demo reads the connections while waiting.
const pollInterval = 500 * time.Millisecond

// waitReady waits until every connection is Ready=True for its current generation. It fails
// early when the operator exits, and on timeout says what each connection last reported.
func waitReady(ctx context.Context, c client.Client, conns []*v1alpha1.D365Connection, op *operator,
	timeout time.Duration, logPath string) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		pending, err := notReady(ctx, c, conns)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted while waiting for Ready: %w", ctx.Err())
		case <-op.exited:
			return fmt.Errorf("the operator exited while the connections were not Ready (%s); see %s",
				exitDescription(op.waitErr), logPath)
		case <-deadline.C:
			return fmt.Errorf("timed out after %s waiting for Ready:\n  %s\nsee the operator's log: %s",
				timeout, strings.Join(pending, "\n  "), logPath)
		case <-tick.C:
		}
	}
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
