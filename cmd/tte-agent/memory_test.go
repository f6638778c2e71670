package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/internal/testscale"
)

// TestMemoryFlatUnderOversizedFrames runs the agent as a process and throws
// oversized frames at it from twelve connections at a time — text frames
// whose header claims 1 GiB, text frames of 24 MiB (limit 1 MiB), binary
// frames of 40 MiB (limit raised to 32 MiB), binary frames of 32 MiB for no
// upload (read and dropped) —
// plus a 48 MiB upload that must go to the spool. Each oversized frame is
// answered with close 1009 (the dropped one with document.error), the agent keeps serving, and its resident set
// stays flat: its peak after ~1.2 GiB of input is within a few MiB of the
// peak after the first round.
func TestMemoryFlatUnderOversizedFrames(t *testing.T) {
	addr := freePort(t)
	cfg, _ := setup(t, addr)
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(data, []byte(`allow = ["digest"]`), []byte(`allow = ["digest", "documents"]`), 1), 0o600)
	// Binary frames up to 32 MiB: an agent that held a frame whole would
	// show it at once.
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("[limits]\nbinary_frame_bytes = 33554432\n")
	f.Close()
	// The real binary, built without the race detector whose shadow
	// memory would hide what the agent itself holds.
	bin := filepath.Join(t.TempDir(), "tte-agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	agent := startAgent(t, exec.Command(bin, "run", "--config", cfg), addr)

	url := "ws://" + addr + "/v1"
	hdr := http.Header{"Origin": {"https://a.go.id"}}
	dial := func() *websocket.Conn {
		ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
		if err != nil {
			var body []byte
			if resp != nil {
				body, _ = io.ReadAll(resp.Body)
			}
			t.Fatalf("dial: %v %s", err, body)
		}
		return ws
	}
	info := func() {
		ws := dial()
		defer ws.Close()
		if err := ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "agent.info"}); err != nil {
			t.Fatal(err)
		}
		var res struct {
			Result json.RawMessage `json:"result"`
		}
		ws.SetReadDeadline(time.Now().Add(testscale.D(10 * time.Second)))
		if err := ws.ReadJSON(&res); err != nil || len(res.Result) == 0 {
			t.Fatalf("agent.info: %v %s", err, res.Result)
		}
	}

	payload := make([]byte, 1<<20) // reused: the client allocates little
	attacks := []struct {
		name    string
		send    func(ws *websocket.Conn) error
		dropped bool // answered with document.error, not close 1009
	}{
		{"text frame claiming 1 GiB", func(ws *websocket.Conn) error {
			return rawFrame(ws.UnderlyingConn(), 0x1, 1<<30, 8<<20, payload)
		}, false},
		{"text frame of 24 MiB", func(ws *websocket.Conn) error {
			return rawFrame(ws.UnderlyingConn(), 0x1, 24<<20, 24<<20, payload)
		}, false},
		{"binary frame of 40 MiB", func(ws *websocket.Conn) error {
			return rawFrame(ws.UnderlyingConn(), 0x2, 40<<20, 40<<20, payload)
		}, false},
		{"binary frame of 32 MiB for no upload", func(ws *websocket.Conn) error {
			return rawFrame(ws.UnderlyingConn(), 0x2, 32<<20, 32<<20, payload)
		}, true},
	}
	round := func() {
		var wg sync.WaitGroup
		errs := make(chan string, 3*len(attacks))
		for i := 0; i < 3; i++ { // 12 connections: the default cap is 16
			for _, a := range attacks {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ws := dial()
					defer ws.Close()
					// The write may fail once the agent closes; the close
					// frame is read either way.
					_ = a.send(ws)
					ws.SetReadDeadline(time.Now().Add(testscale.D(10 * time.Second)))
					_, msg, err := ws.ReadMessage()
					if a.dropped {
						if err != nil || !strings.Contains(string(msg), `"document.error"`) {
							errs <- fmt.Sprintf("%s: %v %s, want a document.error notification", a.name, err, msg)
						}
						return
					}
					if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) && !isReset(err) {
						errs <- fmt.Sprintf("%s: %v, want close 1009", a.name, err)
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}

	info()
	base := vm(t, agent.Process.Pid, "VmHWM")
	round()
	upload48(t, dial(), payload)
	first := vm(t, agent.Process.Pid, "VmHWM")
	for i := 0; i < 3; i++ {
		round()
	}
	upload48(t, dial(), payload)
	info()
	last := vm(t, agent.Process.Pid, "VmHWM")
	t.Logf("agent peak RSS: %d MiB serving, %d MiB after the first round, %d MiB after four (%d MiB of oversized input)",
		base>>20, first>>20, last>>20, 4*3*(8+24+40+32)+2*48)
	// Holding frames or the upload would add at least 48 MiB.
	if last-base > 24<<20 {
		t.Errorf("agent peak RSS grew by %d MiB under oversized frames: %d → %d → %d MiB", (last-base)>>20, base>>20, first>>20, last>>20)
	}
	if last-first > 12<<20 {
		t.Errorf("agent peak RSS keeps growing with each round: %d → %d MiB", first>>20, last>>20)
	}
}

// upload48 streams a 48 MiB document in 1 MiB binary frames, checks that
// the agent took it all, and discards it.
func upload48(t *testing.T, ws *websocket.Conn, payload []byte) {
	t.Helper()
	defer ws.Close()
	const size = 48 << 20
	ws.SetReadDeadline(time.Now().Add(testscale.D(60 * time.Second)))
	if err := ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "document.upload", "params": map[string]any{"name": "besar.bin", "size": size}}); err != nil {
		t.Fatal(err)
	}
	var up struct {
		Result struct {
			UploadID uint64 `json:"uploadId"`
		} `json:"result"`
		Error json.RawMessage `json:"error"`
	}
	if err := ws.ReadJSON(&up); err != nil || up.Error != nil {
		t.Fatalf("document.upload: %v %s", err, up.Error)
	}
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], up.Result.UploadID)
	for sent := 0; sent < size; sent += len(payload) {
		w, err := ws.NextWriter(websocket.BinaryMessage)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(id[:])
		w.Write(payload)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 2, "method": "document.discard", "params": map[string]any{"uploadId": up.Result.UploadID}}); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := ws.ReadJSON(&res); err != nil || res.Error != nil {
		t.Fatalf("document.discard after 48 MiB: %v %s", err, res.Error)
	}
}

// rawFrame writes one client frame by hand: its header claims length
// bytes and send bytes of it follow (masked with a zero key, which leaves
// them unchanged).
func rawFrame(c net.Conn, opcode byte, length, send int64, payload []byte) error {
	var h [14]byte
	h[0] = 0x80 | opcode
	h[1] = 0x80 | 127
	binary.BigEndian.PutUint64(h[2:10], uint64(length))
	c.SetWriteDeadline(time.Now().Add(testscale.D(30 * time.Second)))
	if _, err := c.Write(h[:]); err != nil {
		return err
	}
	for send > 0 {
		n := min(send, int64(len(payload)))
		if _, err := c.Write(payload[:n]); err != nil {
			return err
		}
		send -= n
	}
	return nil
}

// isReset reports a connection the agent reset after closing it with 1009
// while our bytes were still arriving; the close frame is then lost.
func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// vm reads one field of /proc/PID/status in bytes.
func vm(t *testing.T, pid int, field string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// startAgent starts an agent process and waits until it listens on addr;
// the agent is stopped with SIGTERM when the test ends.
func startAgent(t *testing.T, cmd *exec.Cmd, addr string) *exec.Cmd {
	t.Helper()
	var errb bytes.Buffer
	if cmd.Stderr == nil {
		cmd.Stderr = &errb
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	deadline := time.Now().Add(testscale.D(10 * time.Second))
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent never listened: %s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
