// Package testscale gives tests one scale factor for every timeout, so
// that they hold on a loaded machine: TTE_TEST_SCALE (a number, default 1)
// multiplies each duration the tests wait. make test sets it; a developer
// running tests beside heavy work raises it.
package testscale

import (
	"os"
	"strconv"
	"time"
)

// Factor returns TTE_TEST_SCALE, or 1 when it is unset or not a number
// of at least 1.
func Factor() float64 {
	f, err := strconv.ParseFloat(os.Getenv("TTE_TEST_SCALE"), 64)
	if err != nil || f < 1 {
		return 1
	}
	return f
}

// D scales d by Factor.
func D(d time.Duration) time.Duration { return time.Duration(float64(d) * Factor()) }
