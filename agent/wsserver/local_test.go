package wsserver

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/protocol"
)

// transportEcho answers with the peer's transport.
type transportEcho struct{ echo }

func (transportEcho) Serve(ctx context.Context, p *Peer, req protocol.Request) (any, error) {
	return map[string]string{"transport": p.Transport, "origin": p.Origin}, nil
}

func startLocal(t *testing.T, cfg Config) string {
	t.Helper()
	cfg.Limits = protocol.Limits{TextFrameBytes: 1 << 20, BinaryFrameBytes: 4 << 20, Connections: 16}
	cfg.Log = discard
	s := New(cfg, transportEcho{})
	path := filepath.Join(t.TempDir(), "sub", "agent.sock")
	l, err := ListenLocal(path)
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeLocal(l)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return path
}

func dialLocal(path, origin, host string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", path)
	}}
	return d.Dial("ws://"+host+Path, http.Header{"Origin": {origin}})
}

// TestLocalChannel: the browser extension's channel takes the agent's own
// user with an allowed origin, whatever the Host, marks the peer native,
// and refuses another user (peer credentials) and another origin; its
// socket and new directory are private.
func TestLocalChannel(t *testing.T) {
	path := startLocal(t, Config{UID: os.Getuid()})
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	c, _, err := dialLocal(path, origin, "tte-agent")
	if err != nil {
		t.Fatalf("the agent's own user: %v", err)
	}
	if err := c.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "agent.info"}); err != nil {
		t.Fatal(err)
	}
	var resp struct{ Result map[string]string }
	if err := c.ReadJSON(&resp); err != nil || resp.Result["transport"] != TransportNative || resp.Result["origin"] != origin {
		t.Errorf("agent.info on the local channel: %+v %v", resp, err)
	}
	c.Close()
	if _, resp, err := dialLocal(path, "https://evil.example", "tte-agent"); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("an origin outside the policy: %v %v", resp, err)
	}
	if _, resp, err := dialLocal(path, "", "tte-agent"); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("no origin: %v %v", resp, err)
	}
	other := startLocal(t, Config{UID: os.Getuid() + 4242})
	if _, resp, err := dialLocal(other, origin, "tte-agent"); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("another user's socket: %v %v", resp, err)
	}
	listed := startLocal(t, Config{UID: -1, AllowUser: func(uid int) bool { return uid == os.Getuid()+1 }})
	if _, resp, err := dialLocal(listed, origin, "tte-agent"); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a user the policy does not list: %v %v", resp, err)
	}
	// Only the WebSocket path: no hello, no upload URLs here.
	d := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "unix", path)
	}}}
	if r, err := d.Get("http://tte-agent" + HelloPath); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("hello on the local channel: %v %v", r, err)
	}
	// A stale socket of an earlier run is replaced; a file that is not
	// a socket is not.
	if _, err := ListenLocal(path); err != nil {
		t.Errorf("a second listen on a stale socket path: %v", err)
	}
	plain := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(plain, nil, 0o600)
	if _, err := ListenLocal(plain); err == nil {
		t.Error("a regular file was replaced by the socket")
	}
}
