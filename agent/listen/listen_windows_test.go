//go:build windows

package listen

import (
	"context"
	"net"
	"syscall"
	"testing"
)

// TestReuseAddrCannotSteal: a program that sets SO_REUSEADDR, which on
// Windows lets a socket bind a port another socket holds, still cannot
// bind the agent's port, because the agent bound it exclusively.
func TestReuseAddrCannotSteal(t *testing.T) {
	l, err := TCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	thief := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
		})
		return serr
	}}
	if stolen, err := thief.Listen(context.Background(), "tcp", l.Addr().String()); err == nil {
		stolen.Close()
		t.Fatal("a SO_REUSEADDR socket bound the agent's port")
	}
}
