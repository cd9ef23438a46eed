package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

func refreshCommand(g *globals) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "refresh NAME",
		Short: "Replace a connection's token now and wait for the new one",
		Long: `Set the d365.operators.dev/requested-at annotation to the current time, which makes the
operator request a new token at once, and wait until status.lastHandledRequestedAt echoes it.`,
		Example:           `  kubectl d365 refresh sales -n team-a`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: g.completeConnections,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := g.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			conn, err := requestRefresh(ctx, c, ns, args[0])
			if err != nil {
				return err
			}
			cond := apimeta.FindStatusCondition(conn.Status.Conditions, v1alpha1.ConditionReady)
			if cond == nil || cond.Status != "True" {
				reason := "no Ready condition"
				if cond != nil {
					reason = cond.Reason + ": " + cond.Message
				}
				_, _ = fmt.Fprintf(g.stderr, "d365connection/%s handled the refresh but is not Ready (%s)\n", conn.Name, reason)
				return exitCode(1)
			}
			_, _ = fmt.Fprintf(g.stdout, "d365connection/%s refreshed: token expires %s, next refresh %s\n", conn.Name,
				relative(conn.Status.TokenExpiresAt, time.Now()), relative(conn.Status.NextRefreshTime, time.Now()))
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "How long to wait for the operator.")
	return cmd
}

// requestRefresh annotates the connection and polls until the operator handled the request.
func requestRefresh(ctx context.Context, c client.Client, ns, name string) (*v1alpha1.D365Connection, error) {
	conn, err := getConnection(ctx, c, ns, name)
	if err != nil {
		return nil, err
	}
	requested := time.Now().UTC().Format(time.RFC3339Nano)
	base := conn.DeepCopy()
	if conn.Annotations == nil {
		conn.Annotations = map[string]string{}
	}
	conn.Annotations[v1alpha1.AnnotationRequestedAt] = requested
	if err := c.Patch(ctx, conn, client.MergeFrom(base)); err != nil {
		return nil, fmt.Errorf("annotating d365connection/%s: %w", name, err)
	}
	for {
		conn, err = getConnection(ctx, c, ns, name)
		if err != nil {
			return nil, err
		}
		if conn.Status.LastHandledRequestedAt == requested {
			return conn, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("d365connection/%s: the operator did not handle the refresh request (%s): %w; "+
				"is an operator (of this connection's shard) running?", name, requested, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
