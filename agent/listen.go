package agent

import (
	"context"
	"errors"
	"net"
	"syscall"
)

func listen(addr string) (net.Listener, error) {
	// Go's listener sets SO_REUSEADDR on Unix, which only allows binding
	// over TIME_WAIT sockets, not over a live listener; on Windows it sets
	// nothing, and exclusive binding arrives with the Windows build.
	var lc net.ListenConfig
	return lc.Listen(context.Background(), "tcp", addr)
}

func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE)
}
