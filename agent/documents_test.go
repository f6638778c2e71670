package agent_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

// send writes a binary frame for an upload.
func (c *client) send(id uint64, payload []byte) {
	c.t.Helper()
	frame := binary.BigEndian.AppendUint64(nil, id)
	if err := c.ws.WriteMessage(websocket.BinaryMessage, append(frame, payload...)); err != nil {
		c.t.Fatal(err)
	}
}

// upload starts an upload and sends data in frames of at most chunk bytes.
func (c *client) upload(name string, data []byte, chunk int) uint64 {
	c.t.Helper()
	res := mustCall[protocol.DocumentUploadResult](c, "document.upload", map[string]any{"name": name, "size": len(data), "mediaType": "application/pdf"})
	for off := 0; off < len(data); off += chunk {
		c.send(res.UploadID, data[off:min(off+chunk, len(data))])
	}
	return res.UploadID
}

// waitFiles waits until the spool holds n files.
func (h *harness) waitFiles(n int) []string {
	h.t.Helper()
	deadline := time.Now().Add(testscale.D(5 * time.Second))
	for {
		f := h.spoolFiles()
		if len(f) == n || time.Now().After(deadline) {
			return f
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUploadsAreDeleted(t *testing.T) {
	stale := ""
	h := newHarness(t, harnessOpts{before: func(h *harness) {
		// A crashed run left a document behind.
		os.MkdirAll(h.spool(), 0o700)
		stale = filepath.Join(h.spool(), "upload-crashed")
		os.WriteFile(stale, []byte("surat rahasia"), 0o600)
	}})
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a crashed run's upload survived the restart: %v", err)
	}
	c := h.dial(testOrigin)
	big := []byte(strings.Repeat("%PDF-1.7 isi surat ", 400)) // over the 2 KiB memory budget: spooled
	id := c.upload("surat-besar.pdf", big, 1000)
	files := h.waitFiles(1)
	if len(files) != 1 {
		t.Fatalf("spool holds %v, want one file", files)
	}
	if fi, err := os.Stat(files[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("spool file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if fi, _ := os.Stat(h.spool()); fi.Mode().Perm() != 0o700 {
		t.Errorf("spool dir mode %v, want 0700", fi.Mode().Perm())
	}
	if res, perr := c.call("document.discard", map[string]any{"uploadId": id}); perr != nil || string(res) != "{}" {
		t.Fatalf("document.discard = %s, %v", res, perr)
	}
	if f := h.waitFiles(0); len(f) != 0 {
		t.Errorf("after document.discard the spool holds %v", f)
	}
	_, perr := c.call("document.discard", map[string]any{"uploadId": id})
	wantError(t, perr, protocol.ReasonBadRequest)

	// A disconnect deletes everything the connection uploaded, complete or not.
	c.upload("a.pdf", big, 1000)
	c.upload("b.pdf", big[:len(big)-10], 1000)
	cID := mustCall[protocol.DocumentUploadResult](c, "document.upload", map[string]any{"name": "c.pdf", "size": 100000}).UploadID
	// A declared upload takes no file before its first byte.
	if f := h.waitFiles(2); len(f) != 2 {
		t.Fatalf("spool holds %d files, want 2", len(f))
	}
	c.send(cID, []byte("%"))
	if f := h.waitFiles(3); len(f) != 3 {
		t.Fatalf("spool holds %d files, want 3", len(f))
	}
	c.ws.Close()
	if f := h.waitFiles(0); len(f) != 0 {
		t.Errorf("after the disconnect the spool holds %v", f)
	}
}

func TestUploadErrors(t *testing.T) {
	h := newHarness(t, harnessOpts{limits: "uploads = 2\ndocument_bytes = 5000\nitems = 4"})
	c := h.dial(testOrigin)
	id := c.upload("a.pdf", []byte("12345"), 5)
	// A frame after completion: document.error and the upload is gone.
	c.send(id, []byte("6"))
	n := c.read()
	if n.Method != "document.error" || !strings.Contains(string(n.Params), "more bytes than its declared size") {
		t.Errorf("frame after completion: %s %s", n.Method, n.Params)
	}
	_, perr := c.call("document.discard", map[string]any{"uploadId": id})
	wantError(t, perr, protocol.ReasonBadRequest)

	// Extra bytes in one frame: the same.
	res := mustCall[protocol.DocumentUploadResult](c, "document.upload", map[string]any{"name": "b.pdf", "size": 3})
	c.send(res.UploadID, []byte("1234"))
	if n := c.read(); n.Method != "document.error" {
		t.Errorf("extra bytes: %s %s", n.Method, n.Params)
	}
	// A frame shorter than the id header.
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if n := c.read(); n.Method != "document.error" || !strings.Contains(string(n.Params), "8-byte") {
		t.Errorf("short frame: %s %s", n.Method, n.Params)
	}
	if f := h.waitFiles(0); len(f) != 0 {
		t.Errorf("refused uploads left %v", f)
	}

	_, perr = c.call("document.upload", map[string]any{"name": "huge.pdf", "size": 5001})
	wantError(t, perr, protocol.ReasonTooLarge)
	for _, bad := range []map[string]any{{"name": "x"}, {"name": "", "size": 1}, {"name": "x", "size": -1}, {"name": "x", "size": 1, "pages": 2}} {
		_, perr = c.call("document.upload", bad)
		wantError(t, perr, protocol.ReasonBadRequest)
	}
	// Declaring is bounded by items (held uploads); receiving bytes by
	// uploads: a third upload's first byte while two receive is refused.
	var ids []uint64
	for _, name := range []string{"1", "2", "3", "4"} {
		ids = append(ids, mustCall[protocol.DocumentUploadResult](c, "document.upload", map[string]any{"name": name, "size": 2}).UploadID)
	}
	_, perr = c.call("document.upload", map[string]any{"name": "5", "size": 1})
	wantError(t, perr, protocol.ReasonTooLarge)
	c.send(ids[0], []byte("a"))
	c.send(ids[1], []byte("b"))
	c.send(ids[2], []byte("c"))
	if n := c.read(); n.Method != "document.error" || !strings.Contains(string(n.Params), "too_large") || !strings.Contains(string(n.Params), fmt.Sprintf("upload %d", ids[2])) {
		t.Errorf("a third receiving upload: %s %s", n.Method, n.Params)
	}
	c.send(ids[0], []byte("a")) // complete: the fourth may start
	c.send(ids[3], []byte("d"))
	_, perr = c.call("document.discard", map[string]any{"uploadId": ids[3]})
	if perr != nil {
		t.Errorf("the fourth upload, started after one completed, is not held: %v", perr)
	}
}
