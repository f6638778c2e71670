//go:build !windows

package wsserver

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
)

// ListenLocal makes the private socket at path (0600; a directory it
// creates 0700; a stale socket of an earlier run is replaced) and returns
// its listener for ServeLocal. The socket's mode is a first fence; the
// peer-credential check on every connection is the one that counts.
func ListenLocal(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, errors.New(path + " exists and is not a socket: remove it")
		}
		os.Remove(path)
	}
	// The socket is made in a private directory, given its mode there,
	// and only then renamed into place: at its path it is never, even for
	// a moment, open to others (bind obeys the umask, not a mode).
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".tte-agent-sock-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	made := filepath.Join(tmp, "s")
	l, err := net.Listen("unix", made)
	if err != nil {
		return nil, err
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false) // the daemon removes it at its final path
	if err := os.Chmod(made, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	if err := os.Rename(made, path); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// DialLocal connects to the agent's local channel.
func DialLocal(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

func localPeer(c net.Conn) localConn {
	uid, err := unixPeerUID(c)
	return localConn{uid: uid, err: err}
}
