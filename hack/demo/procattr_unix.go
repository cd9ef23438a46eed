//go:build unix && !linux

package main

import "syscall"

// sysProcAttr puts the operator in its own process group, so a terminal's Ctrl-C reaches
// only the demo, which then stops the operator in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
