//go:build linux

package main

import "syscall"

// sysProcAttr puts the operator in its own process group, so a terminal's Ctrl-C reaches
// only the demo, which then stops the operator in order; Pdeathsig kills the operator if
// the demo itself is killed (SIGKILL) and can no longer clean up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
