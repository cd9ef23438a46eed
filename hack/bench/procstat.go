package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Processes' memory and CPU come from /proc (Linux): VmRSS and VmHWM from
// /proc/<pid>/status, utime+stime from /proc/<pid>/stat. Elsewhere the figures stay zero.

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100 on every Linux
// architecture Go supports (the kernel fixes it for userspace, whatever CONFIG_HZ is).
const userHZ = 100

// procSample is one reading of a process.
type procSample struct {
	At     time.Time
	RSSKiB int64
	HWMKiB int64
	CPU    time.Duration // utime+stime since the process started
}

// readProc reads pid's memory and CPU.
func readProc(pid int) (procSample, error) {
	s := procSample{At: time.Now()}
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch k {
		case "VmRSS":
			s.RSSKiB = parseKiB(v)
		case "VmHWM":
			s.HWMKiB = parseKiB(v)
		}
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return s, err
	}
	fields, _, err := statFields(stat)
	if err != nil {
		return s, err
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	s.CPU = time.Duration(utime+stime) * time.Second / userHZ
	return s, nil
}

// statFields returns the fields of /proc/<pid>/stat after the command name (the first is
// the state, field 3 in proc(5)) and the command name itself, which may hold spaces.
func statFields(stat []byte) ([]string, string, error) {
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return nil, "", fmt.Errorf("unexpected /proc stat format")
	}
	fields := strings.Fields(string(stat[end+1:]))
	if len(fields) < 13 {
		return nil, "", fmt.Errorf("unexpected /proc stat format: %d fields", len(fields))
	}
	return fields, string(stat[open+1 : end]), nil
}

func parseKiB(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
	return n
}

// childProcesses returns the pids of this process's children by command name (envtest's
// kube-apiserver and etcd).
func childProcesses() map[string]int {
	out := map[string]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	self := strconv.Itoa(os.Getpid())
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields, comm, err := statFields(stat)
		if err == nil && fields[1] == self {
			out[comm] = pid
		}
	}
	return out
}

// sampler reads a set of processes every interval.
type sampler struct {
	mu      sync.Mutex
	pids    map[string]int
	samples map[string][]procSample
}

func newSampler() *sampler {
	return &sampler{pids: map[string]int{}, samples: map[string][]procSample{}}
}

// pid returns the pid sampled under name.
func (s *sampler) pid(name string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pid, ok := s.pids[name]
	return pid, ok
}

// add starts sampling pid under name.
func (s *sampler) add(name string, pid int) {
	s.mu.Lock()
	s.pids[name] = pid
	s.mu.Unlock()
	s.sampleOnce()
}

func (s *sampler) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sampleOnce()
		}
	}
}

// machineName is the pseudo-process of the whole machine's CPU use: with it the report
// shows how much CPU other processes took, which the figures depend on.
const machineName = "machine"

// sampleOnce reads every process now; a process that has exited is skipped.
func (s *sampler) sampleOnce() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, pid := range s.pids {
		if r, err := readProc(pid); err == nil {
			s.samples[name] = append(s.samples[name], r)
		}
	}
	if r, err := readMachine(); err == nil {
		s.samples[machineName] = append(s.samples[machineName], r)
	}
}

// readMachine reads the CPU time all processors spent busy (not idle or waiting for I/O).
func readMachine() (procSample, error) {
	s := procSample{At: time.Now()}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, err
	}
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 6 || fields[0] != "cpu" {
		return s, fmt.Errorf("unexpected /proc/stat format")
	}
	var busy int64
	for i, f := range fields[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		if i != 3 && i != 4 && i < 8 { // idle, iowait; guest time is already in user
			busy += n
		}
	}
	s.CPU = time.Duration(busy) * time.Second / userHZ
	return s, nil
}

// names returns the sampled processes' names.
func (s *sampler) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.pids)+1)
	for name := range s.pids {
		out = append(out, name)
	}
	return append(out, machineName)
}

// usage is a process's resource use in a phase.
type usage struct {
	CPUSeconds float64 `json:"cpuSeconds"`
	// CPUCores is CPUSeconds over the phase's duration: 1.0 is one core busy throughout.
	CPUCores   float64 `json:"cpuCores"`
	PeakRSSMiB float64 `json:"peakRSSMiB"`
	// HWMMiB is the process's VmHWM (peak RSS since it started) at the end of the phase.
	HWMMiB float64 `json:"hwmMiB"`
}

// usageIn returns what process name used between from and to.
func (s *sampler) usageIn(name string, from, to time.Time) usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var u usage
	var first, last *procSample
	for i := range s.samples[name] {
		r := &s.samples[name][i]
		if r.At.Before(from) {
			first = r // the last reading before the phase is its starting point
			continue
		}
		if r.At.After(to) {
			break
		}
		if first == nil {
			first = r
		}
		last = r
		u.PeakRSSMiB = max(u.PeakRSSMiB, mib(r.RSSKiB))
		u.HWMMiB = mib(r.HWMKiB)
	}
	if first != nil && last != nil {
		u.CPUSeconds = (last.CPU - first.CPU).Seconds()
		if d := last.At.Sub(first.At).Seconds(); d > 0 {
			u.CPUCores = u.CPUSeconds / d
		}
	}
	return u
}

func mib(kib int64) float64 { return float64(kib) / 1024 }
