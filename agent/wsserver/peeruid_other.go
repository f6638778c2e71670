//go:build !linux

package wsserver

import (
	"errors"
	"net"
)

// PeerUID is not available on this platform; the caller must not enable
// the same-user check here (Windows has no shared loopback per user in the
// same way; see docs/security.md).
func PeerUID(remote, local *net.TCPAddr) (int, error) {
	return -1, errors.New("peer uid lookup is only implemented on Linux")
}
