package operatortest

import "syscall"

// childProcAttr kills the operator if the test process dies first.
func childProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
