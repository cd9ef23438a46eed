// Package operatortest runs the operator's binary, built from this tree, against a test
// control plane (internal/testenv) and the Entra ID + Dataverse simulator's demo world, for
// tests that need a real operator process: the kubectl plugin's, and the dashboard's and
// alerts' check against the metrics the operator really serves.
package operatortest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/d365-operator/d365-operator/api/v1alpha1"
	"github.com/d365-operator/d365-operator/internal/simulator"
	"github.com/d365-operator/d365-operator/internal/testenv"
)

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// Build builds ./cmd once per test process into dir and returns the binary's path.
func Build(root, dir string) (string, error) {
	buildOnce.Do(func() {
		bin := filepath.Join(dir, "d365-operator")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd") //nolint:gosec // a path in the test's directory
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd: %w\n%s", err, out)
			return
		}
		built = bin
	})
	return built, buildErr
}

// Operator is a running operator process.
type Operator struct {
	// MetricsURL serves its metrics over plain HTTP on loopback.
	MetricsURL string
	// LogPath is its log.
	LogPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// StartSimulator starts the simulator's demo world (simulator.DefaultConfig) with the
// given token lifetime (0: the simulator's default).
func StartSimulator(tokenLifetime time.Duration) (*simulator.Server, error) {
	cfg := simulator.DefaultConfig()
	cfg.TokenLifetime = tokenLifetime
	return simulator.Start(cfg)
}

// Start runs the operator built into dir against env and sim, signed in as its
// ServiceAccount (serviceAccount in d365-operator-system), with extra flags.
func Start(ctx context.Context, env *testenv.Env, sim *simulator.Server, dir, serviceAccount string, extra ...string) (*Operator, error) {
	bin, err := Build(env.RepoRoot, dir)
	if err != nil {
		return nil, err
	}
	kubeconfig, err := env.OperatorServiceAccountKubeconfig(ctx, "d365-operator-system", serviceAccount, 2*time.Hour)
	if err != nil {
		return nil, err
	}
	kubeconfigPath := filepath.Join(dir, serviceAccount+".kubeconfig")
	caPath := filepath.Join(dir, "simulator-ca.pem")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(caPath, sim.CACertPEM(), 0o600); err != nil {
		return nil, err
	}
	metricsAddr, err := FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	probeAddr, err := FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	aliases := HostAliasFlags(sim)
	args := make([]string, 0, 4+len(aliases)+len(extra))
	args = append(args, "--kubeconfig="+kubeconfigPath, "--metrics-bind-address="+metricsAddr, "--metrics-secure=false",
		"--health-probe-bind-address="+probeAddr)
	args = append(args, aliases...)
	args = append(args, extra...)
	logPath := filepath.Join(dir, serviceAccount+".log")
	logFile, err := os.Create(logPath) //nolint:gosec // a test's own temporary directory
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...) //nolint:gosec // the binary this package just built
	// The simulator's CA alone: the operator can reach nothing real.
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+caPath, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	op := &Operator{MetricsURL: "http://" + metricsAddr + "/metrics", LogPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		op.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(op.exited)
	}()
	if err := op.waitReady(ctx, "http://"+probeAddr+"/readyz"); err != nil {
		return nil, errors.Join(err, op.Stop())
	}
	return op, nil
}

func (o *Operator) waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		if req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil); err == nil {
			if resp, err := c.Do(req); err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		select {
		case <-o.exited:
			return fmt.Errorf("the operator exited during start-up (%w); see %s", o.waitErr, o.LogPath)
		case <-ctx.Done():
			return fmt.Errorf("the operator did not become ready: %w; see %s", ctx.Err(), o.LogPath)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Scrape returns the operator's metrics in the text exposition format.
func (o *Operator) Scrape(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.MetricsURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	return string(body), err
}

// Stop sends SIGTERM and waits up to 15 seconds, then kills.
func (o *Operator) Stop() error {
	select {
	case <-o.exited:
		return nil
	default:
	}
	_ = o.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-o.exited:
		return nil
	case <-time.After(15 * time.Second):
		_ = o.cmd.Process.Kill()
		<-o.exited
		return errors.New("the operator did not stop within 15s of SIGTERM")
	}
}

// HostAliasFlags dial the simulator for every host it answers for.
func HostAliasFlags(sim *simulator.Server) []string {
	flags := make([]string, 0, len(sim.HostAliases()))
	for host, addr := range sim.HostAliases() {
		flags = append(flags, "--host-alias="+host+"="+addr)
	}
	sort.Strings(flags)
	return flags
}

// FreeLoopbackAddr is a loopback address whose port was free a moment ago.
func FreeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// DemoObjects are a namespace's demo app Secret and a connection named name to the demo
// environment with it (client secret auth, simulator.DemoClientID).
func DemoObjects(namespace, name string) (*corev1.Secret, *v1alpha1.D365Connection) {
	const app = "d365-app"
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: app},
		StringData: map[string]string{"client-id": simulator.DemoClientID, "client-secret": simulator.DemoClientSecret},
	}
	conn := &v1alpha1.D365Connection{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.D365ConnectionSpec{
			EnvironmentURL: "https://" + simulator.DemoEnvironmentHost,
			Auth: v1alpha1.AuthSpec{ClientSecret: &v1alpha1.ClientSecretAuth{
				ClientIDRef:     &v1alpha1.SecretKeyRef{Name: app, Key: "client-id"},
				ClientSecretRef: v1alpha1.SecretKeyRef{Name: app, Key: "client-secret"},
			}},
		},
	}
	return secret, conn
}
