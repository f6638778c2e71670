package wsserver

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

// waitGoroutines waits until the goroutine count is back to base (with a
// little slack for the runtime's own).
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(testscale.D(5 * time.Second))
	for runtime.NumGoroutine() > base+2 {
		if time.Now().After(deadline) {
			t.Errorf("goroutines %d, baseline %d", runtime.NumGoroutine(), base)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSlowlorisHandshake: a client that sends its headers a byte at a time
// is cut off by the handshake deadline.
func TestSlowlorisHandshake(t *testing.T) {
	url := start(t, Config{UID: -1, HandshakeTimeout: 300 * time.Millisecond})
	base := runtime.NumGoroutine()
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), Path)
	var conns []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /v1 HTTP/1.1\r\nHost: %s\r\n", addr) // never finished
		conns = append(conns, c)
	}
	for _, c := range conns {
		// The server answers 408 or just closes; either way the read ends
		// long before our own 3 s deadline.
		c.SetReadDeadline(time.Now().Add(testscale.D(3 * time.Second)))
		_, err := io.ReadAll(bufio.NewReader(c))
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("a half-sent handshake was kept open past the handshake deadline")
		}
		c.Close()
	}
	waitGoroutines(t, base)
}

// TestPartialFrameIsCutOff: after the upgrade, a frame whose payload never
// completes is cut off after PongWait, whatever pongs arrive.
func TestPartialFrameIsCutOff(t *testing.T) {
	url := start(t, Config{UID: -1, PongWait: 400 * time.Millisecond, PingInterval: 100 * time.Millisecond})
	c, _, err := dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A text frame header announcing 100 masked bytes, then only 10.
	raw := c.UnderlyingConn()
	frame := []byte{0x81, 0x80 | 100, 1, 2, 3, 4}
	frame = append(frame, make([]byte, 10)...)
	if _, err := raw.Write(frame); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	raw.SetReadDeadline(time.Now().Add(testscale.D(5 * time.Second)))
	buf := make([]byte, 1024)
	for {
		if _, err := raw.Read(buf); err != nil {
			break // the agent closed the connection
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a partial frame held the connection for %v", d)
	}
}

// TestFloodGetsBusy: a page that sends many slow requests at once gets
// busy beyond the per-connection limit, and another page is still served.
func TestFloodGetsBusy(t *testing.T) {
	url := start(t, Config{UID: -1, MaxInFlight: 4})
	flood, _, err := dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer flood.Close()
	for i := range 50 {
		flood.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": i, "method": "slow"})
	}
	busy := 0
	for range 50 {
		var resp struct{ Error *protocol.Error }
		flood.SetReadDeadline(time.Now().Add(testscale.D(5 * time.Second)))
		if err := flood.ReadJSON(&resp); err != nil {
			t.Fatal(err)
		}
		if resp.Error != nil && resp.Error.Data.Reason == protocol.ReasonBusy {
			busy++
		}
	}
	if busy == 0 || busy > 46 {
		t.Errorf("%d of 50 flooded requests answered busy, want all beyond the 4 in flight", busy)
	}
	other, _, err := dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "agent.info"})
	var resp struct{ Result map[string]string }
	other.SetReadDeadline(time.Now().Add(testscale.D(5 * time.Second)))
	if err := other.ReadJSON(&resp); err != nil || resp.Result["method"] != "agent.info" {
		t.Errorf("another page during the flood: %+v, %v", resp, err)
	}
}
