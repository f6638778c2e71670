// Package testscale gives tests one scale factor for every timeout, so
// that they hold on a loaded machine: TTE_TEST_SCALE, when set, multiplies
// each duration the tests wait; unset, the factor follows the machine's
// load when the test process starts (1 + the 1-minute load average per
// core, at most 8), so that make test passes beside other heavy work.
package testscale

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Factor returns TTE_TEST_SCALE (at least 1), or without it the factor
// from the machine's load, read once.
func Factor() float64 {
	once.Do(func() { factor = compute() })
	return factor
}

var (
	once   sync.Once
	factor float64
)

func compute() float64 {
	if f, err := strconv.ParseFloat(os.Getenv("TTE_TEST_SCALE"), 64); err == nil {
		return max(1, f)
	}
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 1
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 1
	}
	load, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 1
	}
	return min(8, 1+load/float64(runtime.NumCPU()))
}

// D scales d by Factor.
func D(d time.Duration) time.Duration { return time.Duration(float64(d) * Factor()) }

// Within runs f and fails t when it took longer than budget (scaled): a
// fuzz input that makes a parser slow is a finding, like one that makes
// it crash.
func Within(t testing.TB, budget time.Duration, what string, f func()) {
	t.Helper()
	start := time.Now()
	f()
	if took := time.Since(start); took > D(budget) {
		t.Fatalf("%s took %v, over its budget of %v", what, took, D(budget))
	}
}
