package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"
)

const (
	// stopGrace is how long the operator gets to shut down after SIGTERM (its manager
	// stops the controllers and returns) before it is killed.
	stopGrace = 15 * time.Second
	// startTimeout bounds the wait for the operator's /readyz.
	startTimeout = time.Minute
)

// operator is the operator running as a child process.
type operator struct {
	cmd     *exec.Cmd
	log     *os.File
	exited  chan struct{} // closed once the process has exited and waitErr is set
	waitErr error
	stopped bool
}

// buildOperator compiles ./cmd: the demo runs exactly what is in this tree.
func buildOperator(ctx context.Context, root, bin string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the operator (go build -o %s ./cmd): %w\n%s", bin, err, out)
	}
	return nil
}

// startOperator starts the operator binary against the demo control plane, trusting the
// simulator's CA and dialing the simulator for every host it impersonates (watching only
// the watched namespaces when there are any, and reading ClusterD365Identities' Secrets in
// clusterResources), and waits until its readiness probe answers.
func startOperator(ctx context.Context, f files, aliases map[string]string, watched []string,
	clusterResources string) (*operator, error) {
	probeAddr, err := freeLocalAddr()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--kubeconfig=" + f.operatorKubeconfig,
		"--metrics-bind-address=0",
		"--health-probe-bind-address=" + probeAddr,
		// The demo's operator signs in as a user, not as a ServiceAccount of a namespace, so
		// it has no namespace of its own to default to.
		"--cluster-resource-namespace=" + clusterResources,
	}
	if len(watched) > 0 {
		args = append(args, "--watch-namespaces="+strings.Join(watched, ","))
	}
	// The simulator answers for the real host names (login.microsoftonline.com,
	// contoso.crm.dynamics.com, ...), so the operator's trust policy needs no extra hosts:
	// only the dial address changes, and TLS is still verified for the real name.
	hosts := make([]string, 0, len(aliases))
	for host := range aliases {
		hosts = append(hosts, host)
	}
	sort.Strings(hosts)
	for _, host := range hosts {
		args = append(args, "--host-alias="+host+"="+aliases[host])
	}

	logFile, err := os.Create(f.operatorLog)
	if err != nil {
		return nil, fmt.Errorf("creating the operator's log: %w", err)
	}
	cmd := exec.Command(f.operatorBin, args...)
	// SSL_CERT_FILE replaces the system roots with the simulator's CA alone: the operator
	// can reach nothing real, even by mistake.
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+f.simulatorCA)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", f.operatorBin, err)
	}
	op := &operator{cmd: cmd, log: logFile, exited: make(chan struct{})}
	go func() {
		op.waitErr = cmd.Wait()
		close(op.exited)
	}()
	if err := op.waitReady(ctx, probeAddr); err != nil {
		return nil, errors.Join(fmt.Errorf("%w; see %s", err, f.operatorLog), op.stop())
	}
	return op, nil
}

// waitReady polls the operator's /readyz until it answers 200.
func (o *operator) waitReady(ctx context.Context, probeAddr string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + probeAddr + "/readyz"
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-o.exited:
			return fmt.Errorf("the operator exited during start-up (%s)", exitDescription(o.waitErr))
		case <-ctx.Done():
			return fmt.Errorf("the operator's %s did not answer 200 within %s: %w", url, startTimeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM, waits stopGrace, then kills. An operator that exits non-zero on
// SIGTERM is reported: it should shut down cleanly.
func (o *operator) stop() error {
	if o.stopped {
		return nil
	}
	o.stopped = true
	defer func() { _ = o.log.Close() }()
	select {
	case <-o.exited:
		return nil // already gone; whoever noticed reported why
	default:
	}
	if err := o.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling the operator: %w", err)
	}
	select {
	case <-o.exited:
		if o.waitErr != nil {
			return fmt.Errorf("the operator did not exit cleanly on SIGTERM: %w", o.waitErr)
		}
		return nil
	case <-time.After(stopGrace):
		_ = o.cmd.Process.Kill()
		<-o.exited
		return fmt.Errorf("the operator ignored SIGTERM for %s and was killed", stopGrace)
	}
}

// exitDescription says how the operator exited; a nil error from Wait is a clean exit.
func exitDescription(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// freeLocalAddr returns a loopback address with a port nobody listens on right now.
func freeLocalAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}
