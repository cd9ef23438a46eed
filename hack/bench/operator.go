package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The operator runs as its own process, built from this tree, so that its memory and CPU
// are its own and nothing of the benchmark (watches, simulator) is counted against it.

// buildOperator builds ./cmd into dir and returns the binary's path. With pprof, a
// benchmark-only file that serves net/http/pprof on loopback is overlaid onto package main
// (go build -overlay): the tree is not changed.
func buildOperator(ctx context.Context, root, dir string, pprof bool) (string, error) {
	bin := filepath.Join(dir, "d365-operator")
	args := []string{"build", "-o", bin}
	if pprof {
		overlay, err := writePprofOverlay(root, dir)
		if err != nil {
			return "", err
		}
		args = append(args, "-overlay", overlay)
	}
	args = append(args, "./cmd")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd: %w\n%s", err, out)
	}
	return bin, nil
}

// operatorProcess is the running operator.
type operatorProcess struct {
	cmd     *exec.Cmd
	logPath string
	ready   chan struct{} // closed when the controller's workers started
	exited  chan struct{} // closed when the process exited
	waitErr error

	mu   sync.Mutex
	tail []string // the log's last lines, for error reports
}

// readyMarker is controller-runtime's log line once the caches synced and workers run.
const readyMarker = "Starting workers"

// startOperator starts bin with args and env, logging to logPath.
func startOperator(bin string, args, env []string, logPath string) (*operatorProcess, error) {
	logFile, err := os.Create(logPath) //nolint:gosec // the path is the benchmark's own -out flag
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = childProcAttr()
	p := &operatorProcess{cmd: cmd, logPath: logPath, ready: make(chan struct{}), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting the operator: %w", err)
	}
	go p.copyLog(pr, logFile)
	go func() {
		p.waitErr = cmd.Wait()
		_ = pw.Close()
		close(p.exited)
	}()
	return p, nil
}

// copyLog writes the operator's output to the log file, keeps its tail and notices when
// the workers started.
func (p *operatorProcess) copyLog(r io.Reader, f *os.File) {
	defer func() { _ = f.Close() }()
	w := bufio.NewWriter(f)
	defer func() { _ = w.Flush() }()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	once := sync.Once{}
	for sc.Scan() {
		line := sc.Text()
		_, _ = w.WriteString(line + "\n")
		if strings.Contains(line, readyMarker) {
			once.Do(func() { close(p.ready) })
			_ = w.Flush()
		}
		p.mu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > 40 {
			p.tail = p.tail[len(p.tail)-40:]
		}
		p.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

// Pid is the operator's process id.
func (p *operatorProcess) Pid() int { return p.cmd.Process.Pid }

// waitReady waits until the controller's workers started.
func (p *operatorProcess) waitReady(ctx context.Context, timeout time.Duration) error {
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		return fmt.Errorf("the operator exited before it started (%w); its log:\n%s", p.exitError(), p.logTail())
	case <-time.After(timeout):
		return fmt.Errorf("the operator did not start its workers within %s; its log:\n%s", timeout, p.logTail())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// alive returns an error when the operator has exited.
func (p *operatorProcess) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("the operator exited (%w); its log:\n%s", p.exitError(), p.logTail())
	default:
		return nil
	}
}

// exitError is why the process ended; only valid once exited is closed.
func (p *operatorProcess) exitError() error {
	if p.waitErr == nil {
		return errors.New("exit status 0")
	}
	return p.waitErr
}

func (p *operatorProcess) logTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// stop asks the operator to stop (SIGTERM), then kills it after grace. It is safe to call
// more than once.
func (p *operatorProcess) stop(grace time.Duration) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("the operator did not stop within %s of SIGTERM and was killed", grace)
	}
}
