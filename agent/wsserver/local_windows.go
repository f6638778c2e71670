//go:build windows

package wsserver

import (
	"context"
	"net"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// ListenLocal makes the named pipe path (\\.\pipe\…) with a DACL that
// admits the agent's own user alone: on Windows the pipe's ACL is the
// owner check that SO_PEERCRED is on Linux.
func ListenLocal(path string) (net.Listener, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, err
	}
	return winio.ListenPipe(path, &winio.PipeConfig{
		// Protected DACL: full access for the user, nobody else (no
		// inherited entries, not even administrators or SYSTEM).
		SecurityDescriptor: "D:P(A;;GA;;;" + u.User.Sid.String() + ")",
		InputBufferSize:    64 << 10,
		OutputBufferSize:   64 << 10,
	})
}

// DialLocal connects to the agent's local channel.
func DialLocal(ctx context.Context, path string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, path)
}

// localPeer: a connection the pipe's ACL admitted is the owner's.
func localPeer(net.Conn) localConn { return localConn{owner: true} }
