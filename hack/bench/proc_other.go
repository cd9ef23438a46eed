//go:build !linux

package main

import "syscall"

// childProcAttr: without Linux's parent-death signal, the deferred stop is the only cleanup.
func childProcAttr() *syscall.SysProcAttr { return nil }
