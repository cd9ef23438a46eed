package plugin

import (
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/shard"
)

func statusCommand(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "status [NAME | -A]",
		Short: "Show connections: Ready, reason, token expiry, next refresh, identity, shard",
		Long: `Show D365Connections as a table: whether each is Ready and why, when its token expires
and when the operator replaces it, the identity it signs in as (auth kind and client ID, or
the Secret that holds the client ID) and the operator shard that reconciles it.`,
		Example: `  kubectl d365 status                 # the current namespace
  kubectl d365 status sales -n team-a  # one connection
  kubectl d365 status -A               # every namespace`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: g.completeConnections,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := g.client()
			if err != nil {
				return err
			}
			var conns []v1alpha1.D365Connection
			switch {
			case len(args) == 1:
				conn, err := getConnection(cmd.Context(), c, ns, args[0])
				if err != nil {
					return err
				}
				conns = []v1alpha1.D365Connection{*conn}
			default:
				var list v1alpha1.D365ConnectionList
				var opts []client.ListOption
				if !all {
					opts = append(opts, client.InNamespace(ns))
				}
				if err := c.List(cmd.Context(), &list, opts...); err != nil {
					return fmt.Errorf("listing D365Connections: %w", err)
				}
				conns = list.Items
			}
			if len(conns) == 0 {
				_, _ = fmt.Fprintln(g.stderr, "No D365Connections found.")
				return nil
			}
			printStatus(g.stdout, conns, all, time.Now())
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "List the connections of every namespace.")
	return cmd
}

// printStatus writes the table.
func printStatus(w io.Writer, conns []v1alpha1.D365Connection, withNamespace bool, now time.Time) {
	sort.Slice(conns, func(i, j int) bool {
		if conns[i].Namespace != conns[j].Namespace {
			return conns[i].Namespace < conns[j].Namespace
		}
		return conns[i].Name < conns[j].Name
	})
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	header := "NAME\tREADY\tREASON\tEXPIRES\tNEXT REFRESH\tIDENTITY\tSHARD"
	if withNamespace {
		header = "NAMESPACE\t" + header
	}
	_, _ = fmt.Fprintln(tw, header)
	for i := range conns {
		conn := &conns[i]
		ready, reason := "Unknown", "-"
		if cond := apimeta.FindStatusCondition(conn.Status.Conditions, v1alpha1.ConditionReady); cond != nil {
			ready, reason = string(cond.Status), cond.Reason
		}
		row := []string{conn.Name, ready, reason, relative(conn.Status.TokenExpiresAt, now),
			relative(conn.Status.NextRefreshTime, now), identity(conn), shard.Of(conn)}
		if withNamespace {
			row = append([]string{conn.Namespace}, row...)
		}
		_, _ = fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	_ = tw.Flush()
}

// relative is "in 52m (10:41:07Z)", "3m ago (...)" or "-".
func relative(t *metav1.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	at := t.UTC().Format("15:04:05Z")
	if d := t.Sub(now); d >= 0 {
		return "in " + duration.HumanDuration(d) + " (" + at + ")"
	}
	return duration.HumanDuration(now.Sub(t.Time)) + " ago (" + at + ")"
}

// identity is the auth kind and its client ID: inline, or the Secret key that holds it
// (the plugin reads no Secret for status); or the ClusterD365Identity the connection uses.
func identity(conn *v1alpha1.D365Connection) string {
	if ref := conn.Spec.IdentityRef; ref != nil {
		return "cd365i/" + ref.Name
	}
	auth := reflect.ValueOf(&conn.Spec.Auth).Elem()
	for field, member := range auth.Fields() {
		if member.Kind() != reflect.Pointer || member.IsNil() {
			continue
		}
		kind, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		m := member.Elem()
		if ref, ok := reflect.TypeAssert[*v1alpha1.SecretKeyRef](m.FieldByName("ClientIDRef")); ok && ref != nil {
			return kind + " " + ref.Name + "/" + ref.Key
		}
		if id := m.FieldByName("ClientID"); id.IsValid() && id.String() != "" {
			return kind + " " + id.String()
		}
		return kind
	}
	return "-"
}
