// Package plugin is `kubectl d365`: it answers "is this connection healthy, and when does
// its token expire?" without reading YAML, forces a refresh, shows a token's non-secret
// claims, calls WhoAmI with it, and signs a user in (d365-operator login). It talks to the
// API server with the user's kubeconfig and RBAC only, and never prints a token.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// globals are the flags every command takes, as kubectl names them.
type globals struct {
	kubeconfig, kubeContext, namespace string
	stdout, stderr                     io.Writer
	// newClient is replaced by tests; by default it reads the kubeconfig.
	newClient func() (client.Client, string, error)
}

// Run executes the plugin with args and returns the exit code.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewCommand(stdout, stderr)
	root.SetArgs(args)
	root.SetIn(stdin)
	if err := root.Execute(); err != nil {
		if exit, ok := errors.AsType[exitCode](err); ok {
			return int(exit)
		}
		_, _ = fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	return 0
}

// exitCode ends the plugin with a code after the command printed its own message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// NewCommand is `kubectl d365` and its subcommands.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	g.newClient = g.kubeClient
	root := &cobra.Command{
		Use:   "kubectl-d365",
		Short: "Inspect and operate D365Connections (d365-operator)",
		Long: `kubectl d365 shows whether D365Connections are healthy and when their tokens expire,
forces a refresh, shows a token's claims (never the token), calls Dataverse WhoAmI with it
and signs a user in for auth.delegated. It uses your kubeconfig and your RBAC only.

Install: put the kubectl-d365 binary on your PATH (go build -o kubectl-d365 ./cmd/kubectl-d365).
Completion: kubectl-d365 completion bash|zsh|fish|powershell --help.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// kubectl runs kubectl-d365 as `kubectl d365`: help and completion say so.
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl d365"},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.kubeconfig, "kubeconfig", "", "Path of the kubeconfig; default: $KUBECONFIG or ~/.kube/config.")
	pf.StringVar(&g.kubeContext, "context", "", "The kubeconfig context to use.")
	pf.StringVarP(&g.namespace, "namespace", "n", "", "Namespace; default: the context's namespace.")
	root.AddCommand(statusCommand(g), refreshCommand(g), inspectCommand(g), whoamiCommand(g), loginCommand(g))
	return root
}

func (g *globals) kubeClient() (client.Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = g.kubeconfig
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: g.kubeContext})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("reading the kubeconfig: %w", err)
	}
	ns, _, err := loader.Namespace()
	if err != nil {
		return nil, "", err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, "", err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	return c, ns, err
}

// client returns the API client and the namespace to use.
func (g *globals) client() (client.Client, string, error) {
	c, ns, err := g.newClient()
	if err != nil {
		return nil, "", err
	}
	if g.namespace != "" {
		ns = g.namespace
	}
	if ns == "" {
		ns = "default"
	}
	return c, ns, nil
}

// completeConnections completes NAME with the connections of the namespace.
func (g *globals) completeConnections(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, ns, err := g.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var list v1alpha1.D365ConnectionList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	names := make([]string, 0, len(list.Items))
	for _, conn := range list.Items {
		names = append(names, conn.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// getConnection reads one connection.
func getConnection(ctx context.Context, c client.Client, ns, name string) (*v1alpha1.D365Connection, error) {
	conn := &v1alpha1.D365Connection{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, conn); err != nil {
		return nil, fmt.Errorf("reading D365Connection %s/%s: %w", ns, name, err)
	}
	return conn, nil
}
