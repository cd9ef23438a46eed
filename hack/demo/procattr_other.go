//go:build !unix

package main

import "syscall"

// sysProcAttr has nothing to set where process groups do not exist.
func sysProcAttr() *syscall.SysProcAttr { return nil }
