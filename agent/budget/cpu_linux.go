package budget

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time of the calling OS thread so far; the
// caller must stay locked to it. The clock id is Linux's per-thread CPU
// clock (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)), which any thread of
// the process may read.
func threadCPU() func() time.Duration {
	tid := unix.Gettid()
	clk := int32(^uint32(tid)<<3 | 6) // CPUCLOCK_SCHED (2) | CPUCLOCK_PERTHREAD_MASK (4)
	read := func() time.Duration {
		var ts unix.Timespec
		if err := unix.ClockGettime(clk, &ts); err != nil {
			return 0
		}
		return time.Duration(ts.Nano())
	}
	start := read()
	if start == 0 {
		return wallClock()
	}
	return func() time.Duration { return read() - start }
}
