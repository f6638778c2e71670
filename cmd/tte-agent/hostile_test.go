package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/pades/hostile"
)

// buildAgent builds the real binary without the race detector, whose
// shadow memory would hide what the agent itself holds.
func buildAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tte-agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// rpc is a minimal JSON-RPC client over one WebSocket.
type rpc struct {
	t  *testing.T
	ws *websocket.Conn
	id int
}

type rpcAnswer struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Reason string `json:"reason"`
			Detail string `json:"detail"`
		} `json:"data"`
	} `json:"error"`
}

// websocketDial opens a WebSocket from the allowed origin.
func websocketDial(addr string) (*websocket.Conn, *http.Response, error) {
	return websocket.DefaultDialer.Dial("ws://"+addr+"/v1", http.Header{"Origin": {"https://a.go.id"}})
}

func dialAgent(t *testing.T, addr string) *rpc {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1", http.Header{"Origin": {"https://a.go.id"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &rpc{t: t, ws: ws}
}

// send sends a request and returns its id.
func (c *rpc) send(method string, params any) int {
	c.id++
	if err := c.ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": c.id, "method": method, "params": params}); err != nil {
		c.t.Fatal(err)
	}
	return c.id
}

// answer reads messages until the answer to id, skipping notifications.
func (c *rpc) answer(id int, wait time.Duration) rpcAnswer {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(wait))
	for {
		var a rpcAnswer
		if err := c.ws.ReadJSON(&a); err != nil {
			c.t.Fatalf("waiting for answer %d: %v", id, err)
		}
		if a.Method == "" && string(a.ID) == strings.TrimSpace(string(mustJSON(id))) {
			return a
		}
	}
}

func (c *rpc) call(method string, params any) rpcAnswer {
	c.t.Helper()
	return c.answer(c.send(method, params), testscale.D(10*time.Second))
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// upload sends data as one document and returns its upload id.
func (c *rpc) upload(name string, data []byte) uint64 {
	c.t.Helper()
	a := c.call("document.upload", map[string]any{"name": name, "size": len(data)})
	var up struct {
		UploadID uint64 `json:"uploadId"`
	}
	if a.Error != nil || json.Unmarshal(a.Result, &up) != nil {
		c.t.Fatalf("document.upload: %+v", a.Error)
	}
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], up.UploadID)
	for off := 0; off < len(data); off += 1 << 20 {
		frame := append(id[:], data[off:min(len(data), off+1<<20)]...)
		if err := c.ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
			c.t.Fatal(err)
		}
	}
	return up.UploadID
}

// certificateID returns the first certificate's id.
func (c *rpc) certificateID() string {
	c.t.Helper()
	a := c.call("certificates.list", map[string]any{})
	var res struct {
		Certificates []struct {
			ID string `json:"id"`
		} `json:"certificates"`
	}
	if a.Error != nil || json.Unmarshal(a.Result, &res) != nil || len(res.Certificates) == 0 {
		c.t.Fatalf("certificates.list: %s %+v", a.Result, a.Error)
	}
	return res.Certificates[0].ID
}

// TestHostilePDFs sends PDFs built to exhaust a parser to the real agent
// binary. Each must be refused with bad_request naming the item, in under
// 2 s (times the test scale), without a dialog, and the agent's peak
// resident set must stay under 64 MiB through all of them.
func TestHostilePDFs(t *testing.T) {
	addr := freePort(t)
	cfg, _ := setup(t, addr)
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(data, []byte(`allow = ["digest"]`), []byte(`allow = ["digest", "documents"]`), 1), 0o600)
	// The documents are made first: deflating a bomb takes long under
	// the race detector, and the connection must not idle meanwhile.
	cases := hostile.Cases()
	docs := make([][]byte, len(cases))
	for i, hc := range cases {
		docs[i] = hc.Build()
	}
	cmd := exec.Command(buildAgent(t), "run", "--config", cfg)
	logFile, _ := os.Create(filepath.Join(t.TempDir(), "agent.log"))
	cmd.Stderr = logFile
	agent := startAgent(t, cmd, addr)
	defer func() {
		if t.Failed() {
			data, _ := os.ReadFile(logFile.Name())
			t.Logf("agent log:\n%s", data)
		}
	}()

	c := dialAgent(t, addr)
	cert := c.certificateID()
	for i, hc := range cases {
		doc := docs[i]
		id := c.upload(hc.Name+".pdf", doc)
		start := time.Now()
		a := c.answer(c.send("sign.pdf", map[string]any{"certificateId": cert, "items": []map[string]any{{"uploadId": id}}}), testscale.D(30*time.Second))
		took := time.Since(start)
		t.Logf("%-26s %9d bytes: %v, peak RSS %d MiB: %v", hc.Name, len(doc), took.Round(time.Millisecond), vm(t, agent.Process.Pid, "VmHWM")>>20, a.Error.Data.Detail)
		if a.Error == nil || a.Error.Data.Reason != "bad_request" || !strings.Contains(a.Error.Data.Detail, hc.Name+".pdf") {
			t.Errorf("%s: answer %s %+v, want bad_request naming the item", hc.Name, a.Result, a.Error)
		}
		if took > testscale.D(2*time.Second) {
			t.Errorf("%s: refused after %v, want under %v", hc.Name, took, testscale.D(2*time.Second))
		}
	}
	// Every real-world PDF that pades accepts with no budget is accepted
	// within the default budget: it reaches the dialog (which fails here,
	// having no pinentry) rather than bad_request.
	files, _ := filepath.Glob("../../pades/testdata/realworld/*.pdf")
	if len(files) < 50 {
		t.Fatalf("the real-world corpus is missing: %d files", len(files))
	}
	dialogs := 0
	for _, f := range files {
		doc, _ := os.ReadFile(f)
		if _, err := pades.Prepare(context.Background(), bytes.NewReader(doc), int64(len(doc)), pades.Options{ContentsSize: 8192}); err != nil {
			continue
		}
		dialogs++
		id := c.upload(filepath.Base(f), doc)
		a := c.answer(c.send("sign.pdf", map[string]any{"certificateId": cert, "items": []map[string]any{{"uploadId": id}}}), testscale.D(30*time.Second))
		if a.Error == nil || a.Error.Data.Reason == "bad_request" {
			t.Errorf("%s: accepted by pades, but the agent answered %+v", filepath.Base(f), a.Error)
		}
	}
	peak := vm(t, agent.Process.Pid, "VmHWM")
	t.Logf("agent peak RSS after every hostile PDF: %d MiB", peak>>20)
	if peak > 64<<20 {
		t.Errorf("agent peak RSS %d MiB, want under 64 MiB", peak>>20)
	}
	agent.Process.Signal(syscall.SIGTERM)
	agent.Wait()
	// A dialog is shown only for the real-world documents (its pinentry
	// fails at once here), never for a hostile one.
	trail, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg), "audit.log"))
	if n := bytes.Count(trail, []byte(`"dialog_shown"`)); n != dialogs {
		t.Errorf("%d dialogs shown, want %d (the real-world documents only):\n%s", n, dialogs, trail)
	}
}

// cpuTime returns the process's user and system CPU time from /proc.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are the 14th and 15th fields of the line.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100
}

// TestParseStopsOnCancel gives the parse a large budget and a document
// that takes seconds to parse, then cancels: the answer comes within
// 100 ms (times the test scale) and the agent stops using CPU; closing
// the connection stops a parse the same way.
func TestParseStopsOnCancel(t *testing.T) {
	addr := freePort(t)
	cfg, _ := setup(t, addr)
	data, _ := os.ReadFile(cfg)
	data = bytes.Replace(data, []byte(`allow = ["digest"]`), []byte(`allow = ["digest", "documents"]`), 1)
	data = append(data, "[limits]\nparse_time = \"60s\"\nparse_memory_bytes = 4294967296\n"...)
	os.WriteFile(cfg, data, 0o600)
	agent := startAgent(t, exec.Command(buildAgent(t), "run", "--config", cfg), addr)
	doc := hostile.DeepPageTree(100_000)

	idle := func(what string) {
		t.Helper()
		// Within a few ticks of the stop the agent is idle again.
		time.Sleep(testscale.D(200 * time.Millisecond))
		before := cpuTime(t, agent.Process.Pid)
		time.Sleep(500 * time.Millisecond)
		if used := cpuTime(t, agent.Process.Pid) - before; used > 100*time.Millisecond {
			t.Errorf("%s: the agent used %v of CPU in the 500 ms after; the parse went on", what, used)
		}
	}

	c := dialAgent(t, addr)
	cert := c.certificateID()
	id := c.upload("lambat.pdf", doc)
	before := cpuTime(t, agent.Process.Pid)
	req := c.send("sign.pdf", map[string]any{"certificateId": cert, "items": []map[string]any{{"uploadId": id}}})
	time.Sleep(300 * time.Millisecond)
	if cpuTime(t, agent.Process.Pid)-before < 100*time.Millisecond {
		t.Fatal("the parse was not running when cancelled")
	}
	start := time.Now()
	c.send("request.cancel", map[string]any{"id": req})
	a := c.answer(req, testscale.D(5*time.Second))
	took := time.Since(start)
	t.Logf("cancelled after %v: %+v", took, a.Error)
	if a.Error == nil || a.Error.Data.Reason != "cancelled" {
		t.Errorf("answer %+v, want cancelled", a.Error)
	}
	if took > testscale.D(100*time.Millisecond) {
		t.Errorf("cancel answered after %v, want within 100 ms", took)
	}
	idle("request.cancel")

	c2 := dialAgent(t, addr)
	id = c2.upload("lambat.pdf", doc)
	c2.send("sign.pdf", map[string]any{"certificateId": cert, "items": []map[string]any{{"uploadId": id}}})
	time.Sleep(300 * time.Millisecond)
	c2.ws.Close()
	idle("closed connection")
}
