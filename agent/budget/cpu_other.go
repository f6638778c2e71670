//go:build !linux

package budget

import "time"

// threadCPU falls back to wall time where no per-thread CPU clock is read.
func threadCPU() func() time.Duration { return wallClock() }
