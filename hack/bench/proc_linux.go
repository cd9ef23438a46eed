//go:build linux

package main

import "syscall"

// childProcAttr makes the kernel kill the operator if the benchmark itself dies without
// cleaning up (SIGKILL, a crash): no operator is ever left running.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
