package upload

import (
	"math"

	"golang.org/x/sys/windows"
)

// freeSpace returns the bytes the user may still write on dir's volume,
// or MaxInt64 when it cannot be read.
func freeSpace(dir string) int64 {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return math.MaxInt64
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return math.MaxInt64
	}
	return int64(min(avail, math.MaxInt64))
}
