package budget

import "time"

// wallClock measures wall time from now.
func wallClock() func() time.Duration {
	start := time.Now()
	return func() time.Duration { return time.Since(start) }
}
