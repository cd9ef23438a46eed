package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// report prints what a user would look at: the connections, one connection's status and
// its output Secret's keys. Never a Secret's values: the status holds no secret by contract,
// and of the Secret only key names and sizes are printed.
func report(ctx context.Context, w io.Writer, c client.Client, f files, conns []*v1alpha1.D365Connection) error {
	// Assembled first and written once: one error to check, and no half report.
	out := &strings.Builder{}
	out.WriteString("\n$ kubectl get d365c -A\n")
	if err := printConnections(ctx, out, c, f.kubeconfig); err != nil {
		return err
	}

	conn := conns[0]
	fmt.Fprintf(out, "\n$ kubectl get d365c -n %s %s -o jsonpath='{.status}'  # as YAML\n", conn.Namespace, conn.Name)
	status, err := yaml.Marshal(map[string]any{"status": conn.Status})
	if err != nil {
		return fmt.Errorf("printing the status of %s: %w", conn.Name, err)
	}
	out.Write(status)

	name := outputSecretName(conn)
	var secret corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: conn.Namespace, Name: name}, &secret); err != nil {
		return fmt.Errorf("reading the output Secret %s/%s: %w", conn.Namespace, name, err)
	}
	fmt.Fprintf(out, "\nOutput Secret %s/%s (keys only; the values stay in the cluster):\n", conn.Namespace, name)
	keys := make([]string, 0, len(secret.Data))
	for k := range secret.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "  %-16s %d bytes\n", k, len(secret.Data[k]))
	}
	out.WriteString("\n")
	_, err = io.WriteString(w, out.String())
	return err
}

// kubectlGet runs `kubectl get args...` against the demo's kubeconfig into out; ran is false
// when kubectl is not installed, and the caller prints the same columns itself.
func kubectlGet(ctx context.Context, out *strings.Builder, kubeconfig string, args ...string) (ran bool, err error) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		out.WriteString("(kubectl is not installed; the same columns:)\n")
		return false, nil
	}
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kubeconfig, "get"}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return true, fmt.Errorf("kubectl get %s: %w", strings.Join(args, " "), err)
	}
	return true, nil
}

// printConnections runs kubectl get d365c -A, or prints the same columns itself when
// kubectl is not installed.
func printConnections(ctx context.Context, out *strings.Builder, c client.Client, kubeconfig string) error {
	if ran, err := kubectlGet(ctx, out, kubeconfig, "d365c", "-A"); ran || err != nil {
		return err
	}
	var list v1alpha1.D365ConnectionList
	if err := c.List(ctx, &list); err != nil {
		return fmt.Errorf("listing connections: %w", err)
	}
	// tabwriter buffers: a write error surfaces at Flush, which is checked.
	tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	_, _ = fmt.Fprintln(tw, "NAMESPACE\tNAME\tREADY\tENVIRONMENT\tEXPIRES\tAGE")
	now := time.Now()
	for _, conn := range list.Items {
		ready, expires := "", "<unknown>"
		if cond := meta.FindStatusCondition(conn.Status.Conditions, v1alpha1.ConditionReady); cond != nil {
			ready = string(cond.Status)
		}
		if t := conn.Status.TokenExpiresAt; t != nil {
			expires = "in " + duration.HumanDuration(t.Sub(now))
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", conn.Namespace, conn.Name, ready, conn.Spec.EnvironmentURL,
			expires, duration.HumanDuration(now.Sub(conn.CreationTimestamp.Time)))
	}
	return tw.Flush()
}

// outputSecretName is the Secret the connection writes: as reported, else as specified,
// else the API's default.
func outputSecretName(conn *v1alpha1.D365Connection) string {
	switch {
	case conn.Status.TargetSecretName != "":
		return conn.Status.TargetSecretName
	case conn.Spec.Target.Name != "":
		return conn.Spec.Target.Name
	default:
		return conn.Name + "-token"
	}
}

// printHints tells the user how to look around while the demo runs. Paths are absolute
// (Options.Dir is made absolute by run) so the lines work from any directory.
func printHints(out io.Writer, f files, conns []*v1alpha1.D365Connection, identity string) error {
	conn := conns[0]
	_, err := fmt.Fprintf(out, `The demo keeps running until Ctrl-C. In another terminal:

  export KUBECONFIG=%s
  kubectl get d365c -A -o wide
  kubectl describe d365c -n %[2]s %[3]s
  kubectl get secret -n %[2]s %[4]s -o jsonpath='{.data}' | jq 'keys'
  # force a refresh now:
  kubectl annotate d365c -n %[2]s %[3]s %[5]s="$(date -Is)" --overwrite
  # the shared identity, and who may use it:
  kubectl get cd365i -o wide
  kubectl describe cd365i %[7]s
  # the operator's log:
  tail -f %[6]s

`, f.kubeconfig, conn.Namespace, conn.Name, outputSecretName(conn), v1alpha1.AnnotationRequestedAt, f.operatorLog,
		identity)
	return err
}
