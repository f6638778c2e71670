//go:build !linux

package wsserver

import (
	"errors"
	"net"
)

// unixPeerUID is not available here: the local channel refuses every
// connection (Windows will use a named pipe with an owner-only ACL).
func unixPeerUID(net.Conn) (int, error) {
	return -1, errors.New("no peer credentials on this platform")
}
