package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/nativemsg"
)

// nativeHost is `tte-agent native-host` as a browser runs it: native
// messages on its standard input and output.
type nativeHost struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startNativeHost(t *testing.T, cfg string, origin string) *nativeHost {
	t.Helper()
	cmd := exec.Command(os.Args[0], "native-host", "--config", cfg)
	cmd.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &nativeHost{t: t, cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	h.send(nativemsg.Message{Origin: origin})
	return h
}

func (h *nativeHost) send(m nativemsg.Message) {
	h.t.Helper()
	raw, _ := json.Marshal(m)
	var n [4]byte
	binary.NativeEndian.PutUint32(n[:], uint32(len(raw)))
	if _, err := h.in.Write(append(n[:], raw...)); err != nil {
		h.t.Fatal(err)
	}
}

// next returns the next text message whole (joining parts), or the close.
func (h *nativeHost) next() (string, *nativemsg.Closed, int) {
	h.t.Helper()
	var text strings.Builder
	parts := 0
	for {
		raw, err := nativemsg.ReadRaw(h.out, nativemsg.MaxToBrowser)
		if err != nil {
			h.t.Fatalf("reading the host: %v", err)
		}
		var m nativemsg.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			h.t.Fatal(err)
		}
		switch {
		case m.Open:
			continue
		case m.Closed != nil:
			return "", m.Closed, parts
		case m.Part != "":
			parts++
			text.WriteString(m.Part)
			if !m.More {
				return text.String(), nil, parts
			}
		default:
			return m.Text, nil, 1
		}
	}
}

// answer sends a request and returns its response, skipping
// notifications.
func (h *nativeHost) answer(id int, method string, params any) (map[string]json.RawMessage, int) {
	h.t.Helper()
	msg := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	req, _ := json.Marshal(msg)
	h.send(nativemsg.Message{Text: string(req)})
	for {
		text, closed, parts := h.next()
		if closed != nil {
			h.t.Fatalf("%s: the channel closed: %+v", method, closed)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			h.t.Fatalf("%s: %v", method, err)
		}
		if string(m["id"]) == fmt.Sprint(id) {
			return m, parts
		}
	}
}

// TestNativeHost: a page's requests through the native-messaging host
// reach the user's agent over its private socket, with the origin the
// extension gave; answers that may not fit the browsers' 1 MB cap come in
// pieces;
// documents travel as binary messages; an origin outside the policy is
// refused as on the WebSocket.
func TestNativeHost(t *testing.T) {
	addr := freePort(t)
	cfg, serial := setup(t, addr)
	dir := filepath.Dir(cfg)
	pin := filepath.Join(dir, "pinentry")
	os.WriteFile(pin, []byte("#!/bin/sh\necho 'OK ready'\nwhile read -r cmd rest; do\n  case \"$cmd\" in\n    GETPIN) echo 'D 1111'; echo OK;;\n    BYE) echo OK; exit 0;;\n    *) echo OK;;\n  esac\ndone\n"), 0o700)
	conf, _ := os.ReadFile(cfg)
	conf = []byte(strings.Replace(strings.Replace(string(conf), `"/bin/false"`, fmt.Sprintf("%q", pin), 1), `allow = ["digest"]`, `allow = ["digest", "documents"]`, 1))
	os.WriteFile(cfg, conf, 0o600)
	agent := exec.Command(os.Args[0], "run", "--config", cfg)
	agent.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1")
	agent.Stderr = os.Stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { agent.Process.Signal(os.Interrupt); agent.Wait() }()
	sock := filepath.Join(dir, "spool.sock")
	for deadline := time.Now().Add(testscale.D(10 * time.Second)); ; time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(sock); err == nil {
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("the local channel's socket has mode %v, want 0600", fi.Mode().Perm())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent made no local channel at %s", sock)
		}
	}

	h := startNativeHost(t, cfg, "https://a.go.id")
	res, _ := h.answer(1, "agent.info", nil)
	var info struct{ Origin, Transport string }
	json.Unmarshal(res["result"], &info)
	if info.Origin != "https://a.go.id" || info.Transport != "native" {
		t.Errorf("agent.info through the host: %s", res["result"])
	}
	// A document in binary messages; no HTTP upload URL on this channel.
	res, _ = h.answer(2, "document.upload", map[string]any{"name": "surat.txt", "size": 5})
	var up struct {
		UploadID  uint64 `json:"uploadId"`
		UploadURL string `json:"uploadUrl"`
	}
	json.Unmarshal(res["result"], &up)
	if up.UploadID == 0 || up.UploadURL != "" {
		t.Errorf("document.upload through the host: %s", res["result"])
	}
	h.send(nativemsg.Message{Binary: append(binary.BigEndian.AppendUint64(nil, up.UploadID), "surat"...)})
	res, _ = h.answer(3, "sign.cms", map[string]any{"certificateId": serial + "/a1", "items": []any{map[string]any{"uploadId": up.UploadID}}})
	if res["error"] != nil {
		t.Errorf("sign.cms of an upload sent through the host: %s", res["error"])
	}
	// An answer of about 450 KB, more than one native message surely
	// holds once escaped (nativemsg splits from about 170 KB): 1000 items
	// with long names.
	items := make([]any, 1000)
	for i := range items {
		d := sha256.Sum256([]byte(fmt.Sprint(i)))
		items[i] = map[string]any{"name": fmt.Sprintf("%04d-%s", i, strings.Repeat("n", 300)), "digest": d[:]}
	}
	res, parts := h.answer(4, "sign.digest", map[string]any{"certificateId": serial + "/a1", "items": items})
	var signed struct {
		Items []struct{ Name, Signature string }
	}
	if err := json.Unmarshal(res["result"], &signed); err != nil || len(signed.Items) != 1000 || !strings.HasPrefix(signed.Items[999].Name, "0999-") {
		t.Fatalf("1000 signatures through the host: %v %.200s", err, res["error"])
	}
	if parts < 2 {
		t.Errorf("an answer of 450 KB came in %d message", parts)
	}
	h.in.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("the host did not end cleanly when the browser closed the port: %v", err)
	}

	// An origin outside the policy: refused, and the extension is told.
	evil := startNativeHost(t, cfg, "https://evil.example")
	if _, closed, _ := evil.next(); closed == nil || closed.Code != 1008 || !strings.Contains(closed.Reason, "refuses pages from https://evil.example") {
		t.Errorf("a refused origin: %+v", closed)
	}
	// Something that is not an origin first: refused before any dial.
	bad := startNativeHost(t, cfg, "https://a.go.id/path?x")
	if _, closed, _ := bad.next(); closed == nil || closed.Code != 1008 {
		t.Errorf("a URL for an origin: %+v", closed)
	}
}
