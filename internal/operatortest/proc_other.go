//go:build !linux

package operatortest

import "syscall"

func childProcAttr() *syscall.SysProcAttr { return nil }
