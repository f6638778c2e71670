package wsserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

const origin = "https://eoffice.example.go.id"

// echo is a Handler that allows one origin and answers every request with
// its method name.
type echo struct{}

func (echo) AllowOrigin(o string) bool { return o == origin }
func (echo) Serve(ctx context.Context, p *Peer, req protocol.Request) (any, error) {
	if req.Method == "panic" {
		panic("boom")
	}
	if req.Method == "slow" {
		time.Sleep(300 * time.Millisecond)
	}
	return map[string]string{"method": req.Method}, nil
}
func (echo) Upload(*Peer, uint64, []byte) error { return nil }
func (echo) Closed(*Peer)                       {}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func start(t *testing.T, cfg Config) string {
	t.Helper()
	if cfg.Limits.Connections == 0 {
		cfg.Limits = protocol.Limits{TextFrameBytes: 1 << 20, BinaryFrameBytes: 4 << 20, Connections: 16}
	}
	return startWith(t, cfg, echo{})
}

func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func dial(url string) (*websocket.Conn, *http.Response, error) {
	return websocket.DefaultDialer.Dial(url, http.Header{"Origin": {origin}})
}

func TestSameUserCheck(t *testing.T) {
	if _, _, err := dial(start(t, Config{UID: os.Getuid()})); err != nil {
		t.Errorf("same user refused: %v", err)
	}
	_, resp, err := dial(start(t, Config{UID: os.Getuid() + 4242}))
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("other user: err %v, response %v; want 403", err, resp)
	}
}

func TestConnectionLimit(t *testing.T) {
	url := start(t, Config{UID: -1, Limits: protocol.Limits{TextFrameBytes: 1024, BinaryFrameBytes: 1024, Connections: 2}})
	for range 2 {
		c, _, err := dial(url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	c, _, err := dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(testscale.D(5 * time.Second)))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseTryAgainLater) {
		t.Errorf("third connection: %v, want close 1013", err)
	}
}

func TestHandlerPanicIsInternal(t *testing.T) {
	c, _, err := dial(start(t, Config{UID: -1}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, m := range []string{"panic", "agent.info"} {
		if err := c.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": m}); err != nil {
			t.Fatal(err)
		}
		var resp struct {
			Result map[string]string
			Error  *protocol.Error
		}
		if err := c.ReadJSON(&resp); err != nil {
			t.Fatal(err)
		}
		if m == "panic" && (resp.Error == nil || resp.Error.Data.Reason != protocol.ReasonInternal) {
			t.Errorf("panic answered %+v, want internal", resp)
		}
		if m == "agent.info" && resp.Result["method"] != "agent.info" {
			t.Errorf("after a panic: %+v", resp)
		}
	}
}
