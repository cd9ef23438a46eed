// Package testenv starts a real control plane (kube-apiserver and etcd, through envtest) with
// the project's CRDs installed, for any test package that needs one.
//
// The control plane binaries come from hack/envtest-assets.sh, which builds them from the Go
// module proxy: KUBEBUILDER_ASSETS is used when set, otherwise the script is run, so a plain
// `go test ./...` works as well as `make test`. Start never skips: a control plane that cannot
// start is an error the caller's TestMain must fail on.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	d365v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
)

// startTimeout bounds each control plane component's start. envtest's default (20s) is too
// short when several test packages start their own control plane at once on a 2-core machine.
const startTimeout = 90 * time.Second

// Env is a running control plane with the project's CRDs installed.
type Env struct {
	// Config reaches the API server as a member of system:masters.
	Config *rest.Config
	// Client is a controller-runtime client (no cache) using Scheme.
	Client client.Client
	// Scheme holds client-go's built-in types and api/v1alpha1.
	Scheme *runtime.Scheme
	// KubeconfigPath is a kubeconfig file (system:masters) for kubectl; removed by Stop.
	KubeconfigPath string
	// RepoRoot is the directory holding the module's go.mod.
	RepoRoot string

	env    *envtest.Environment
	tmpDir string
}

// Option changes how Start starts the control plane.
type Option func(*envtest.Environment)

// WithAPIServerFlag appends values to a kube-apiserver flag, on top of envtest's defaults:
// WithAPIServerFlag("enable-admission-plugins", "OwnerReferencesPermissionEnforcement")
// starts an API server with that admission plugin enabled as well as the default ones.
func WithAPIServerFlag(name string, values ...string) Option {
	return func(te *envtest.Environment) {
		te.ControlPlane.GetAPIServer().Configure().Append(name, values...)
	}
}

// Start builds or finds the control plane binaries, starts kube-apiserver and etcd, installs
// the CRDs from <repo root>/config/crd/bases and writes a kubeconfig for kubectl.
func Start(opts ...Option) (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	if err := ensureAssets(root); err != nil {
		return nil, err
	}

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("testenv: registering client-go types: %w", err)
	}
	if err := d365v1alpha1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("testenv: registering api/v1alpha1: %w", err)
	}

	te := &envtest.Environment{
		Scheme:                scheme,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	for _, opt := range opts {
		opt(te)
	}
	// An explicit KUBEBUILDER_CONTROLPLANE_START_TIMEOUT still wins.
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		te.ControlPlaneStartTimeout = startTimeout
	}

	cfg, err := te.Start()
	if err != nil {
		// Start can fail after one component came up; stop whatever is running.
		stopErr := te.Stop()
		return nil, fmt.Errorf("testenv: the control plane did not start (KUBEBUILDER_ASSETS=%s): %w",
			os.Getenv("KUBEBUILDER_ASSETS"), errors.Join(err, stopErr))
	}

	e := &Env{Config: cfg, Scheme: scheme, RepoRoot: root, env: te}
	if err := e.finishStart(); err != nil {
		return nil, errors.Join(err, e.Stop())
	}
	return e, nil
}

// finishStart creates the client and the kubeconfig file once the control plane runs.
func (e *Env) finishStart() error {
	c, err := client.New(e.Config, client.Options{Scheme: e.Scheme})
	if err != nil {
		return fmt.Errorf("testenv: creating a client: %w", err)
	}
	e.Client = c

	e.tmpDir, err = os.MkdirTemp("", "d365-testenv-")
	if err != nil {
		return fmt.Errorf("testenv: creating a temporary directory: %w", err)
	}
	e.KubeconfigPath = filepath.Join(e.tmpDir, "kubeconfig")
	return e.WriteKubeconfig(e.KubeconfigPath)
}

// Stop stops the control plane and removes the kubeconfig file.
func (e *Env) Stop() error {
	var errs []error
	if e.env != nil {
		errs = append(errs, e.env.Stop())
	}
	if e.tmpDir != "" {
		errs = append(errs, os.RemoveAll(e.tmpDir))
	}
	return errors.Join(errs...)
}
