package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// pprofOverlay is added to the operator's package main when -pprof is given. It is kept
// as a .txt file so that it is never compiled into the benchmark itself.
//
//go:embed pprof_overlay.go.txt
var pprofOverlay []byte

// pprofAddrEnv tells the overlaid code where to listen.
const pprofAddrEnv = "D365_BENCH_PPROF_ADDR"

// writePprofOverlay writes the overlay file and the -overlay JSON into dir.
func writePprofOverlay(root, dir string) (string, error) {
	src := filepath.Join(dir, "zz_bench_pprof.go")
	if err := os.WriteFile(src, pprofOverlay, 0o600); err != nil {
		return "", err
	}
	doc, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(root, "cmd", "zz_bench_pprof.go"): src},
	})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "overlay.json")
	return path, os.WriteFile(path, doc, 0o600)
}

// profiler fetches profiles from the operator's pprof endpoint into files next to the report.
type profiler struct {
	addr   string // host:port; empty when profiling is off
	prefix string // path prefix of the profile files
	// apiURL and apiHTTP reach the API server, whose own /debug/pprof is profiled alongside.
	apiURL  string
	apiHTTP *http.Client

	mu    sync.Mutex
	files []string
}

// cpu starts a CPU profile of the given duration in the background; wait for the returned
// channel to have the file written.
func (p *profiler) cpu(ctx context.Context, name string, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	if p == nil || p.addr == "" {
		close(done)
		return done
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	path := fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs)
	var wg sync.WaitGroup
	wg.Go(func() { p.fetch(ctx, http.DefaultClient, "http://"+p.addr, name+".cpu.pprof", path, d+30*time.Second) })
	if p.apiHTTP != nil {
		wg.Go(func() { p.fetch(ctx, p.apiHTTP, p.apiURL, name+".kube-apiserver.cpu.pprof", path, d+30*time.Second) })
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// heap saves a heap profile now.
func (p *profiler) heap(ctx context.Context, name string) {
	if p == nil || p.addr == "" {
		return
	}
	p.fetch(ctx, http.DefaultClient, "http://"+p.addr, name+".heap.pprof", "/debug/pprof/heap?gc=1", 30*time.Second)
}

func (p *profiler) fetch(ctx context.Context, hc *http.Client, base, file, path string, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return
	}
	resp, err := hc.Do(req)
	if err != nil {
		return
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return
	}
	out := p.prefix + "." + file
	f, err := os.Create(out) //nolint:gosec // the path is the benchmark's own -out flag
	if err != nil {
		return
	}
	if _, err := io.Copy(f, resp.Body); err == nil {
		p.mu.Lock()
		p.files = append(p.files, out)
		p.mu.Unlock()
	}
	_ = f.Close()
}

// saved returns the profile files written so far.
func (p *profiler) saved() []string {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.files...)
}
