//go:build !windows

package audit

import "syscall"

const oNoFollow = syscall.O_NOFOLLOW
