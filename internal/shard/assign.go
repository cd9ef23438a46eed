package shard

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// Assignment is one connection's shard, and whether its label changed.
type Assignment struct {
	Namespace, Name string
	// Shard is the label value; "" is the default shard.
	Shard string
	// Changed is true when the label was (or, in a dry run, would be) written.
	Changed bool
	// Exact is false when the client ID could not be read and the key fell back to the
	// namespace and Secret names.
	Exact bool
}

// Assign labels every connection in namespace ("" for all) with the shard of its identity
// out of shards, and removes the label from those of the default shard. With dryRun
// nothing is written.
func Assign(ctx context.Context, c client.Client, namespace string, shards int, dryRun bool) ([]Assignment, error) {
	if shards < 1 {
		return nil, errors.New("--shards must be at least 1")
	}
	var list v1alpha1.D365ConnectionList
	if err := c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing D365Connections: %w", err)
	}
	out := make([]Assignment, 0, len(list.Items))
	for i := range list.Items {
		conn := &list.Items[i]
		key, exact := IdentityKey(ctx, c, conn)
		a, err := label(ctx, c, conn, LabelValue(Index(key, shards)), dryRun)
		a.Exact = exact
		out = append(out, a)
		if err != nil {
			return out, err
		}
	}
	if namespace == "" {
		// Identities are cluster-scoped: labelled when every namespace is assigned, with the
		// shard of their connections, whose operator then writes their status.
		var identities v1alpha1.ClusterD365IdentityList
		if err := c.List(ctx, &identities); err != nil {
			return out, fmt.Errorf("listing ClusterD365Identities: %w", err)
		}
		for i := range identities.Items {
			id := &identities.Items[i]
			a, err := label(ctx, c, id, LabelValue(Index(ClusterIdentityKey(id.Name), shards)), dryRun)
			a.Exact, a.Name = true, "clusterd365identity/"+id.Name
			out = append(out, a)
			if err != nil {
				return out, err
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// label sets obj's shard label to want ("" removes it) unless it already has it.
func label(ctx context.Context, c client.Client, obj client.Object, want string, dryRun bool) (Assignment, error) {
	labels := obj.GetLabels()
	a := Assignment{Namespace: obj.GetNamespace(), Name: obj.GetName(), Shard: want, Changed: labels[Label] != want}
	if !a.Changed || dryRun {
		return a, nil
	}
	base := obj.DeepCopyObject().(client.Object)
	if want == "" {
		delete(labels, Label)
	} else {
		if labels == nil {
			labels = map[string]string{}
		}
		labels[Label] = want
	}
	obj.SetLabels(labels)
	if err := c.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		return a, fmt.Errorf("labelling %s: %w", client.ObjectKeyFromObject(obj), err)
	}
	return a, nil
}

// Main runs `d365-operator shard assign` with args (after "shard") and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "assign" {
		_, _ = fmt.Fprintln(stderr, "usage: d365-operator shard assign --shards N [--namespace NS] [--dry-run] [--kubeconfig PATH]")
		return 2
	}
	fs := flag.NewFlagSet("d365-operator shard assign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	shards := fs.Int("shards", 0, "Number of operator shards (the chart's shards value); required.")
	namespace := fs.String("namespace", "", "Only this namespace's connections; default: all namespaces.")
	dryRun := fs.Bool("dry-run", false, "Print the assignment without writing any label.")
	kubeconfig := fs.String("kubeconfig", "", "Path of the kubeconfig; default: $KUBECONFIG or ~/.kube/config.")
	kubeContext := fs.String("context", "", "kubeconfig context to use.")
	fs.Usage = func() {
		_, _ = fmt.Fprintf(stderr, `Usage: d365-operator shard assign --shards N [flags]

Labels every D365Connection with %s=<n> by a stable hash (FNV-1a) of its app
registration's client ID (or of its ClusterD365Identity's name, with spec.identityRef), so that
all connections of one identity share a shard; shard 0 is the default shard and carries no
label. Without --namespace, ClusterD365Identities get the shard of their connections too.
Run it again after changing the number of shards.

Flags:
`, Label)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *shards < 1 {
		_, _ = fmt.Fprintln(stderr, "--shards is required and must be at least 1")
		return 2
	}
	c, err := newClient(*kubeconfig, *kubeContext)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	assigned, err := Assign(ctx, c, *namespace, *shards, *dryRun)
	printAssignments(stdout, assigned, *dryRun)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func printAssignments(w io.Writer, assigned []Assignment, dryRun bool) {
	perShard := map[string]int{}
	changed := 0
	for _, a := range assigned {
		shard := a.Shard
		if shard == "" {
			shard = DefaultShard
		}
		perShard[shard]++
		verb := "unchanged"
		if a.Changed {
			changed++
			verb = "labelled"
			if dryRun {
				verb = "would label"
			}
		}
		note := ""
		if !a.Exact {
			note = " (client ID unreadable: hashed by namespace and Secret names)"
		}
		_, _ = fmt.Fprintf(w, "%s/%s\tshard %s\t%s%s\n", a.Namespace, a.Name, shard, verb, note)
	}
	names := make([]string, 0, len(perShard))
	for s := range perShard {
		names = append(names, s)
	}
	sort.Strings(names)
	_, _ = fmt.Fprintf(w, "%d connections, %d relabelled;", len(assigned), changed)
	for _, s := range names {
		_, _ = fmt.Fprintf(w, " shard %s: %d;", s, perShard[s])
	}
	_, _ = fmt.Fprintln(w)
}

func newClient(kubeconfig, kubeContext string) (client.Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}
