package wsserver

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

// twoOrigins allows origin and other.
type twoOrigins struct{ echo }

const other = "https://other.example.go.id"

func (twoOrigins) AllowOrigin(o string) bool { return o == origin || o == other }

// One origin may hold at most its share of the slots; another origin still
// gets in.
func TestPerOriginLimit(t *testing.T) {
	url := startWith(t, Config{UID: -1, Limits: protocol.Limits{TextFrameBytes: 1024, BinaryFrameBytes: 1024, Connections: 4, OriginConnections: 2}}, twoOrigins{})
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
		t.Errorf("third connection of one origin: %v, want close 1013", err)
	}
	o, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {other}})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "agent.info"}); err != nil {
		t.Fatal(err)
	}
	_ = o.SetReadDeadline(time.Now().Add(testscale.D(5 * time.Second)))
	if _, _, err := o.ReadMessage(); err != nil {
		t.Errorf("the other origin was not served: %v", err)
	}
}

// A connection that sends nothing is closed after IdleTimeout; one with a
// request running is not.
func TestIdleConnectionClosed(t *testing.T) {
	idle := testscale.D(300 * time.Millisecond)
	url := start(t, Config{UID: -1, IdleTimeout: idle})
	begin := time.Now()
	quiet, _, err := dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	busy, _, err := dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// "slow" runs 300 ms; sent every 200 ms, the busy page is never idle.
	stop := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(idle * 2 / 3):
			}
			_ = busy.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": i, "method": "slow"})
		}
	}()
	_ = quiet.SetReadDeadline(time.Now().Add(testscale.D(10 * time.Second)))
	_, _, err = quiet.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("idle connection: %v, want close 1001", err)
	}
	if d := time.Since(begin); d < idle {
		t.Errorf("closed after %v, before the idle timeout %v", d, idle)
	}
	// Well past the idle timeout, the busy page is still served.
	time.Sleep(idle)
	_ = busy.SetReadDeadline(time.Now().Add(testscale.D(5 * time.Second)))
	for {
		var resp struct{ Result map[string]string }
		if err := busy.ReadJSON(&resp); err != nil {
			t.Fatalf("the busy connection was closed: %v", err)
		}
		if resp.Result["method"] == "slow" {
			break
		}
	}
	close(stop)
}

func startWith(t *testing.T, cfg Config, h Handler) string {
	t.Helper()
	cfg.Log = discard
	s := New(cfg, h)
	l := loopbackListener(t)
	go s.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testscale.D(5*time.Second))
		defer cancel()
		s.Shutdown(ctx)
	})
	return "ws://" + l.Addr().String() + Path
}
