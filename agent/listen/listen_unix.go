//go:build !windows

package listen

import (
	"errors"
	"syscall"
)

// control leaves Go's Unix defaults: SO_REUSEADDR there never lets a
// second socket bind a port somebody is listening on.
func control(network, address string, c syscall.RawConn) error { return nil }

func addrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
