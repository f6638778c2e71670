package wsserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
)

// The local channel is the same WebSocket endpoint on a private Unix
// socket, for the native-messaging host (`tte-agent native-host`) that a
// browser extension starts: the host relays a page's messages and tells
// the page's origin in the Origin header, taken from the browser's sender
// information, never from the page. So the channel needs no Host or
// loopback check and no browser permission; it takes only connections of
// the users the TCP listener takes (the socket's peer credentials), and
// the Origin check is the same.

// LocalToolOrigin is the Origin the user's own command-line tools give on
// the local channel (`tte-agent decrypt`): accepted there without being in
// the policy, since only the agent's own user reaches the channel, and such
// a tool could use the token directly with the PIN anyway; the agent
// grants it document protection only, and its dialog says so.
const LocalToolOrigin = "tte-agent:local"

// TransportNative is Peer.Transport on the local channel; TransportWebSocket
// on the TCP listener.
const (
	TransportWebSocket = "websocket"
	TransportNative    = "native"
)

type localKey struct{}

// localConn is what the local channel knows of a connection: its peer's
// uid (SO_PEERCRED), or the error reading it; owner when the channel
// itself admits only the agent's user (a Windows pipe's ACL).
type localConn struct {
	uid   int
	err   error
	owner bool
}

// ServeLocal accepts local-channel connections on l until Shutdown.
func (s *Server) ServeLocal(l net.Listener) error {
	srv := &http.Server{
		Handler:           http.HandlerFunc(s.serveLocal),
		ReadHeaderTimeout: s.cfg.HandshakeTimeout,
		ReadTimeout:       s.cfg.HandshakeTimeout,
		WriteTimeout:      s.cfg.HandshakeTimeout,
		IdleTimeout:       s.cfg.HandshakeTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          s.http.ErrorLog,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, localKey{}, localPeer(c))
		},
	}
	s.mu.Lock()
	s.local = append(s.local, srv)
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return http.ErrServerClosed
	}
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// serveLocal is the local channel's handler: the WebSocket endpoint only
// (no upload URLs, no hello).
func (s *Server) serveLocal(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	s.ServeHTTP(w, r)
}

// checkLocal is check for the local channel: the peer's user, then the
// Origin.
func (s *Server) checkLocal(r *http.Request, lc localConn) (string, refusal) {
	allowed := lc.err == nil && lc.uid == s.cfg.UID
	if s.cfg.AllowUser != nil {
		allowed = lc.err == nil && s.cfg.AllowUser(lc.uid)
	}
	if s.cfg.UID < 0 && s.cfg.AllowUser == nil {
		allowed = lc.err == nil && lc.uid == os.Getuid()
	}
	if lc.owner {
		allowed = true
	}
	if !allowed {
		s.cfg.Log.Debug("local channel: peer uid check failed", "uid", lc.uid, "err", lc.err)
		return "", refuseUser
	}
	return checkOrigin(r, func(o string) bool { return o == LocalToolOrigin || s.h.AllowOrigin(o) })
}
