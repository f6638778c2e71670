//go:build !windows

package upload

import (
	"math"

	"golang.org/x/sys/unix"
)

// freeSpace returns the bytes an unprivileged user may still write on
// dir's file system, or MaxInt64 when it cannot be read.
func freeSpace(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return math.MaxInt64
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
