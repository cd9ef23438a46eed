package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// identityReport is what the demo shows of the platform-team layout: one ClusterD365Identity,
// two team namespaces signing in as it, one token request between them.
type identityReport struct {
	plat     *platform
	identity *v1alpha1.ClusterD365Identity
	conns    []*v1alpha1.D365Connection
	// refusal is what the labelled team's connection said before its namespace was allowed.
	refusal string
	// tokenRequests is the simulator's count of token requests for the identity's app.
	tokenRequests int
}

// print writes kubectl get cd365i and how the teams share the identity. Of the output
// Secrets only whether they hold the same token is said, never the token.
func (r identityReport) print(ctx context.Context, w io.Writer, c client.Client, kubeconfig string) error {
	out := &strings.Builder{}
	out.WriteString("$ kubectl get cd365i\n")
	if ran, err := kubectlGet(ctx, out, kubeconfig, "cd365i"); err != nil {
		return err
	} else if !ran {
		if err := printIdentity(out, r.identity); err != nil {
			return err
		}
	}
	tokens := map[string]bool{}
	requests := fmt.Sprintf("%d token requests", r.tokenRequests)
	if r.tokenRequests == 1 {
		requests = "1 token request"
	}
	fmt.Fprintf(out, "\nClusterD365Identity %s signs in for %d namespaces with %s to Entra ID "+
		"(the simulator's count for its app):\n", r.identity.Name, len(r.conns), requests)
	for _, conn := range r.conns {
		var secret corev1.Secret
		name := outputSecretName(conn)
		if err := c.Get(ctx, types.NamespacedName{Namespace: conn.Namespace, Name: name}, &secret); err != nil {
			return fmt.Errorf("reading the output Secret %s/%s: %w", conn.Namespace, name, err)
		}
		tokens[string(secret.Data[v1alpha1.SecretKeyAccessToken])] = true
		why := "named in allowedNamespaces.names"
		if conn.Namespace == r.plat.selected {
			why = "labelled to match allowedNamespaces.selector"
		}
		fmt.Fprintf(out, "  %s/%s -> Secret %s (%s)\n", conn.Namespace, conn.Name, name, why)
	}
	if len(tokens) == 1 {
		out.WriteString("  Both output Secrets hold the same token.\n")
	} else {
		fmt.Fprintf(out, "  The output Secrets hold %d different tokens.\n", len(tokens))
	}
	ref := r.plat.identity.Spec.Auth.ClientSecret.ClientSecretRef
	fmt.Fprintf(out, "  The credential stays in Secret %s/%s; the teams' connections name only the identity.\n",
		orDefault(ref.Namespace, platformNamespace), ref.Name)
	fmt.Fprintf(out, "Before namespace %s was labelled, its connection was refused, and no token requested:\n  %s\n\n",
		r.plat.selected, r.refusal)
	_, err := io.WriteString(w, out.String())
	return err
}

// printIdentity prints kubectl get cd365i's columns when kubectl is not installed.
func printIdentity(out io.Writer, id *v1alpha1.ClusterD365Identity) error {
	tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	_, _ = fmt.Fprintln(tw, "NAME\tREADY\tALLOWED\tCONNECTIONS\tAGE")
	ready := ""
	if cond := meta.FindStatusCondition(id.Status.Conditions, v1alpha1.ConditionReady); cond != nil {
		ready = string(cond.Status)
	}
	_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", id.Name, ready, id.Status.AllowedNamespaces, id.Status.Connections,
		duration.HumanDuration(time.Since(id.CreationTimestamp.Time)))
	return tw.Flush()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
