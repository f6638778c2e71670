//go:build windows

package listen

import (
	"errors"
	"syscall"
)

// soExclusiveAddrUse is SO_EXCLUSIVEADDRUSE, defined by winsock as
// ~SO_REUSEADDR.
const soExclusiveAddrUse = ^4

const (
	wsaeacces     = syscall.Errno(10013) // the port is held exclusively
	wsaeaddrinuse = syscall.Errno(10048)
)

// control binds the socket exclusively: without it Windows lets another
// process bind the same address with SO_REUSEADDR and take its connections.
func control(network, address string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, soExclusiveAddrUse, 1)
	}); err != nil {
		return err
	}
	return serr
}

func addrInUse(err error) bool {
	return errors.Is(err, wsaeaddrinuse) || errors.Is(err, wsaeacces) || errors.Is(err, syscall.EADDRINUSE)
}
