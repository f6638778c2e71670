package main

import "golang.org/x/sys/unix"

// harden keeps the agent's memory, where a PIN lives for one request,
// out of core dumps and away from other processes of the same user:
// no core file (RLIMIT_CORE 0), and not dumpable, which also refuses
// ptrace and /proc/PID/mem to anything but root.
func harden() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return err
	}
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
