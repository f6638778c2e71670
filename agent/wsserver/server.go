// Package wsserver owns the agent's WebSocket endpoint (contract §1): the
// checks before the upgrade (loopback peer, exact Host, exact Origin, same
// user), frame size limits, keep-alive, JSON-RPC 2.0 framing, concurrent
// requests with request.cancel, and ordered writes. What a request means is
// the Handler's business.
package wsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/agent/listen"
	"github.com/tte-agent/tte-agent/protocol"
)

// Path is the endpoint of protocol version 1.
const Path = "/v1"

// HelloPath is where a page finds its own user's agent among a range of
// ports (docs/protocol.md, "Finding the agent").
const HelloPath = "/v1/hello"

// ErrCancelRequested is the cause of a request context cancelled by
// request.cancel; handlers answer it with the cancelled error.
var ErrCancelRequested = errors.New("cancelled by request.cancel")

// Handler answers requests. Its methods are called concurrently.
type Handler interface {
	// AllowOrigin reports whether pages of the origin may connect.
	AllowOrigin(origin string) bool
	// Serve answers one request. A *protocol.Error is sent to the page as
	// it is; any other error is logged and sent as internal. ctx ends when
	// the connection closes or request.cancel names the request (cause
	// ErrCancelRequested).
	Serve(ctx context.Context, p *Peer, req protocol.Request) (any, error)
	// Upload takes the next chunk of a binary frame's payload for an upload
	// id, as it arrives; payload is valid only during the call. An error
	// is sent to the page as a document.error notification, and the rest
	// of that frame is dropped.
	Upload(p *Peer, id uint64, payload []byte) error
	// Closed is called once after the connection of p has ended.
	Closed(p *Peer)
}

// Config tunes a Server.
type Config struct {
	Limits protocol.Limits
	// MaxInFlight bounds concurrent requests per connection.
	MaxInFlight int
	// UID, when not negative, is the only user whose sockets may connect.
	UID int
	// AllowUser, when set, decides instead of UID which users' sockets
	// may connect (an agent run as root serves the users its policy
	// lists).
	AllowUser func(uid int) bool
	// PingInterval and PongWait keep idle connections honest; zero values
	// take 30 s and 60 s (contract §1).
	PingInterval time.Duration
	PongWait     time.Duration
	// HandshakeTimeout bounds the HTTP request and upgrade.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that has sent nothing and has no
	// request running for this long; zero keeps idle connections.
	IdleTimeout time.Duration
	Log         *slog.Logger
	// Refused, when set, hears of every refused connection (for the
	// audit trail): the page's Origin header, the Host and why.
	Refused func(origin, host, why string)
}

// Server is the WebSocket endpoint.
type Server struct {
	cfg      Config
	h        Handler
	port     atomic.Int32
	upgrader websocket.Upgrader
	http     *http.Server
	conns    atomic.Int32
	mu       sync.Mutex
	peers    map[*Peer]struct{}
	byOrigin map[string]int // open connections per origin, guarded by mu
	closing  bool           // guarded by mu
	wg       sync.WaitGroup
	nextID   atomic.Uint64
	limits   atomic.Pointer[protocol.Limits] // cfg.Limits, then SetLimits
	// httpUploads maps upload URL tokens to their upload, guarded by mu.
	httpUploads map[string]httpUpload
	// downloads maps download URL tokens to their result, guarded by mu.
	downloads map[string]httpDownload
	// local are the local channel's servers (ServeLocal), guarded by mu.
	local []*http.Server
}

// New returns a server that dispatches to h.
func New(cfg Config, h Handler) *Server {
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 30 * time.Second
	}
	if cfg.PongWait == 0 {
		cfg.PongWait = 60 * time.Second
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 16
	}
	s := &Server{cfg: cfg, h: h, peers: map[*Peer]struct{}{}, byOrigin: map[string]int{}}
	s.SetLimits(cfg.Limits)
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.HandshakeTimeout,
		ReadBufferSize:   32 << 10,
		WriteBufferSize:  32 << 10,
		// The origin was checked exactly before the upgrade.
		CheckOrigin: func(*http.Request) bool { return true },
		// No compression: it invites decompression bombs for no gain.
		EnableCompression: false,
	}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: cfg.HandshakeTimeout,
		ReadTimeout:       cfg.HandshakeTimeout,
		WriteTimeout:      cfg.HandshakeTimeout,
		IdleTimeout:       cfg.HandshakeTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug),
	}
	return s
}

// Serve accepts connections on l until Shutdown. The Host check uses l's
// port.
func (s *Server) Serve(l net.Listener) error {
	if a, ok := l.Addr().(*net.TCPAddr); ok {
		s.port.Store(int32(a.Port))
	}
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, closes every WebSocket with 1001 (going away)
// and waits for their handlers, or until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.mu.Lock()
	local := s.local
	s.mu.Unlock()
	for _, l := range local {
		l.Shutdown(ctx)
	}
	s.mu.Lock()
	s.closing = true
	for p := range s.peers {
		p.close(websocket.CloseGoingAway, "the agent is stopping")
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

// Broadcast sends a notification to every open connection. A page whose
// connection cannot take it within the write deadline is disconnected;
// the others are not held up by it.
func (s *Server) Broadcast(method string, params any) {
	s.mu.Lock()
	peers := make([]*Peer, 0, len(s.peers))
	for p := range s.peers {
		peers = append(peers, p)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Notify(method, params)
		}()
	}
	wg.Wait()
}

// SetLimits changes the frame and connection limits for connections opened
// from now on; open connections keep theirs.
func (s *Server) SetLimits(l protocol.Limits) { s.limits.Store(&l) }

// Connections returns the number of open WebSocket connections.
func (s *Server) Connections() int { return int(s.conns.Load()) }

// ServeHTTP checks the handshake and upgrades it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == HelloPath {
		s.hello(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, UploadPath) {
		s.upload(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, DownloadPath) {
		s.download(w, r)
		return
	}
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	lc, local := r.Context().Value(localKey{}).(localConn)
	var origin string
	var why refusal
	if local {
		origin, why = s.checkLocal(r, lc)
	} else {
		origin, why = s.check(r)
	}
	if why != "" {
		s.cfg.Log.Warn("refused a connection", "reason", string(why), "origin", r.Header.Get("Origin"), "host", r.Host, "remote", r.RemoteAddr)
		if s.cfg.Refused != nil {
			s.cfg.Refused(r.Header.Get("Origin"), r.Host, string(why))
		}
		http.Error(w, string(why), http.StatusForbidden)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, string(refuseNotUpgrad), http.StatusBadRequest)
		return
	}
	// The slot is taken before the upgrade completes, so a page that sees
	// its connection open is already counted.
	limits := s.limits.Load()
	over := int(s.conns.Add(1)) > limits.Connections
	// The origin's slot, like the global one, is taken before the upgrade
	// completes, so a page that sees its connection open is counted.
	s.mu.Lock()
	overOrigin := !over && s.byOrigin[origin] >= limits.PerOrigin()
	if !over && !overOrigin {
		s.byOrigin[origin]++
	}
	s.mu.Unlock()
	release := func() {
		s.conns.Add(-1)
		if !over && !overOrigin {
			s.mu.Lock()
			if s.byOrigin[origin]--; s.byOrigin[origin] <= 0 {
				delete(s.byOrigin, origin)
			}
			s.mu.Unlock()
		}
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		release()
		s.cfg.Log.Debug("upgrade failed", "err", err)
		return
	}
	p := s.newPeer(ws, origin)
	p.host = r.Host
	if local {
		p.Transport = TransportNative
	}
	switch {
	case over:
		release()
		s.cfg.Log.Warn("refused a connection over the limit", "origin", origin, "limit", limits.Connections)
		if s.cfg.Refused != nil {
			s.cfg.Refused(origin, r.Host, "too many connections")
		}
		p.close(websocket.CloseTryAgainLater, "too many connections to the agent; close other tabs and try again")
		return
	case overOrigin:
		// One origin (many tabs, or a page that opens connections in a
		// loop) must not take every slot from the others.
		release()
		s.cfg.Log.Warn("refused a connection over the per-origin limit", "origin", origin, "limit", limits.PerOrigin())
		if s.cfg.Refused != nil {
			s.cfg.Refused(origin, r.Host, "too many connections from this origin")
		}
		p.close(websocket.CloseTryAgainLater, "too many connections from this site; close other tabs and try again")
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		release()
		p.close(websocket.CloseGoingAway, "the agent is stopping")
		return
	}
	s.peers[p] = struct{}{}
	// Added under mu, so Shutdown's Wait never races an Add.
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		p.active.Store(time.Now().UnixNano())
		p.serve()
		s.mu.Lock()
		delete(s.peers, p)
		s.mu.Unlock()
		s.forgetURLs(p)
		release()
		s.h.Closed(p)
	}()
}

func (s *Server) check(r *http.Request) (string, refusal) {
	if !checkLoopback(r.RemoteAddr) {
		return "", refuseNotLocal
	}
	if !listen.LoopbackHost(r.Host, int(s.port.Load())) {
		return "", refuseHost
	}
	// The user before the origin: a tool without an Origin (doctor) can
	// tell its own agent from another user's.
	if s.cfg.UID >= 0 || s.cfg.AllowUser != nil {
		remote, err1 := net.ResolveTCPAddr("tcp", r.RemoteAddr)
		local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
		if err1 != nil || !ok {
			return "", refuseUser
		}
		uid, err := PeerUID(remote, local)
		allowed := uid == s.cfg.UID
		if s.cfg.AllowUser != nil {
			allowed = s.cfg.AllowUser(uid)
		}
		if err != nil || !allowed {
			s.cfg.Log.Debug("peer uid check failed", "uid", uid, "err", err)
			return "", refuseUser
		}
	}
	return checkOrigin(r, s.h.AllowOrigin)
}

// hello answers a page looking for its own user's agent on the ports of
// the range: the same checks as the WebSocket (loopback, Host, user,
// Origin), then 200 with CORS headers for that origin only, so a page
// reads the answer only from the agent that would serve it. A refusal has
// no CORS headers: the page cannot read it and tries the next port. Pages
// of other users probing the range are not audited as refusals (they are
// not attacks), only logged at debug level.
func (s *Server) hello(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.pageRequest(w, r, "a hello", []string{http.MethodGet}, nil); !ok {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"agent":"tte-agent","protocol":%d,"url":"ws://%s%s"}`+"\n", protocol.Version, r.Host, Path)
}
