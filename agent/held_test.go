package agent_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/envelope"
	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

// httpUpload declares a document and PUTs its bytes to its upload URL.
func (c *client) httpUpload(name string, data []byte) uint64 {
	c.t.Helper()
	res := mustCall[protocol.DocumentUploadResult](c, "document.upload", map[string]any{"name": name, "size": len(data)})
	if code, msg := put(c.t, res.UploadURL, protectOrigin, data); code != http.StatusNoContent {
		c.t.Fatalf("upload: %d %s", code, msg)
	}
	return res.UploadID
}

func get(t *testing.T, url, origin string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Origin", origin)
	resp, err := (&http.Client{Timeout: testscale.D(60 * time.Second)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("a download without CORS headers for %s", origin)
	}
	return resp.StatusCode, body
}

// pieces reads a held result with document.download, 1 MiB at a time.
func (c *client) pieces(id uint64) []byte {
	c.t.Helper()
	var out []byte
	for {
		r := mustCall[protocol.DocumentDownloadResult](c, "document.download", map[string]any{"downloadId": id, "offset": len(out), "length": protocol.MaxDownloadChunk})
		out = append(out, r.Data...)
		if r.EOF {
			return out
		}
	}
}

// TestLargeProtection: documents larger than an answer carries are
// encrypted into the spool and opened from their envelope as the page
// reads them: the answer names each as a held result, fetched over HTTP
// (from the page's origin only) or in pieces, equal to what was sent;
// no plaintext of an opened document reaches the spool; discarding a
// result, or closing the connection, deletes its files and kills its URL.
func TestLargeProtection(t *testing.T) {
	h := protectHarness(t)
	c := h.dial(protectOrigin)
	big := make([]byte, 24<<20+3)
	rand.Read(big)
	small := []byte("lampiran kecil")
	rsaCert := h.certByKey(encRSAID)
	enc := mustCall[protocol.DocumentEncryptResult](c, "document.encrypt", map[string]any{
		"items":      []any{map[string]any{"uploadId": c.httpUpload("besar.bin", big)}, map[string]any{"uploadId": c.httpUpload("kecil.txt", small)}},
		"recipients": [][]byte{rsaCert.Raw}, "rsaPadding": "RSA-PKCS1-v1_5"})
	bigItem, smallItem := enc.Items[0], enc.Items[1]
	if bigItem.Envelope != nil || bigItem.DownloadID == 0 || bigItem.DownloadURL == "" || bigItem.Size <= int64(len(big)) {
		t.Fatalf("a 24 MiB envelope is not held: %+v", bigItem.Held)
	}
	if smallItem.Envelope == nil || smallItem.DownloadID != 0 || smallItem.Size != int64(len(smallItem.Envelope)) {
		t.Fatalf("a small envelope is not in the answer")
	}
	if code, _ := get(t, bigItem.DownloadURL, testOrigin); code != http.StatusForbidden {
		t.Errorf("another origin fetched the envelope: %d", code)
	}
	code, env := get(t, bigItem.DownloadURL, protectOrigin)
	if code != http.StatusOK || int64(len(env)) != bigItem.Size {
		t.Fatalf("GET: %d, %d bytes of %d", code, len(env), bigItem.Size)
	}
	if again := c.pieces(bigItem.DownloadID); !bytes.Equal(again, env) {
		t.Fatal("document.download gives other bytes than the URL")
	}
	if e, err := envelope.Parse(env); err != nil || len(e.Recipients) != 1 {
		t.Fatalf("the held envelope: %v", err)
	}
	// The preflight a page's fetch may send, HEAD, and a wrong method.
	pre, _ := http.NewRequest(http.MethodOptions, bigItem.DownloadURL, nil)
	pre.Header.Set("Origin", protectOrigin)
	pre.Header.Set("Access-Control-Request-Method", "GET")
	pre.Header.Set("Access-Control-Request-Private-Network", "true")
	if resp, err := http.DefaultClient.Do(pre); err != nil || resp.StatusCode != http.StatusNoContent ||
		resp.Header.Get("Access-Control-Allow-Origin") != protectOrigin || resp.Header.Get("Access-Control-Allow-Private-Network") != "true" {
		t.Errorf("the preflight: %v %+v", err, resp)
	}
	head, _ := http.NewRequest(http.MethodHead, bigItem.DownloadURL, nil)
	head.Header.Set("Origin", protectOrigin)
	if resp, err := http.DefaultClient.Do(head); err != nil || resp.StatusCode != http.StatusOK || resp.ContentLength != bigItem.Size {
		t.Errorf("HEAD: %v %+v", err, resp)
	}
	post, _ := http.NewRequest(http.MethodPost, bigItem.DownloadURL, nil)
	post.Header.Set("Origin", protectOrigin)
	if resp, err := http.DefaultClient.Do(post); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %+v", err, resp)
	}
	spooled := len(h.spoolFiles())
	mustCall[struct{}](c, "document.discard", map[string]any{"downloadId": bigItem.DownloadID})
	if code, _ := get(t, bigItem.DownloadURL, protectOrigin); code != http.StatusNotFound {
		t.Errorf("a discarded result: %d", code)
	}
	if n := len(h.waitFiles(spooled - 1)); n != spooled-1 {
		t.Errorf("discarding left the envelope in the spool (%d files, %d before)", n, spooled)
	}

	// Opened by the token: held, decrypted as it is read.
	dec := mustCall[protocol.DocumentDecryptResult](c, "document.decrypt", map[string]any{"items": []any{map[string]any{"uploadId": c.httpUpload("besar.bin.p7m", env)}}})
	item := dec.Items[0]
	if item.Content != nil || item.DownloadID == 0 || item.Size != int64(len(big)) {
		t.Fatalf("a 24 MiB opening is not held: %+v", item.Held)
	}
	for _, f := range h.spoolFiles() {
		if data := readFile(t, f); bytes.Contains(data, big[1<<20:1<<20+64]) {
			t.Errorf("plaintext in the spool: %s", f)
		}
	}
	if code, got := get(t, item.DownloadURL, protectOrigin); code != http.StatusOK || !bytes.Equal(got, big) {
		t.Fatalf("GET the opened document: %d, equal %v", code, bytes.Equal(got, big))
	}
	if got := c.pieces(item.DownloadID); !bytes.Equal(got, big) {
		t.Fatal("document.download of the opened document differs")
	}
	// Pieces out of order start again from the right place.
	r := mustCall[protocol.DocumentDownloadResult](c, "document.download", map[string]any{"downloadId": item.DownloadID, "offset": 5 << 20, "length": 100})
	if !bytes.Equal(r.Data, big[5<<20:5<<20+100]) || r.EOF {
		t.Error("a piece at an offset differs")
	}
	_, perr := c.call("document.download", map[string]any{"downloadId": 99, "offset": 0, "length": 10})
	wantError(t, perr, protocol.ReasonBadRequest)
	_, perr = c.call("document.download", map[string]any{"downloadId": item.DownloadID, "offset": 0, "length": protocol.MaxDownloadChunk + 1})
	wantError(t, perr, protocol.ReasonBadRequest)
	// A request that fails after holding a result releases it: nothing
	// is left in the spool for it.
	before := len(h.spoolFiles())
	bad := bytes.Clone(smallItem.Envelope)
	bad[len(bad)-3] ^= 1
	_, perr = c.call("document.decrypt", map[string]any{"items": []any{map[string]any{"uploadId": c.httpUpload("besar.bin.p7m", env)}, map[string]any{"uploadId": c.upload("ubah.p7m", bad, 4096)}}})
	wantError(t, perr, protocol.ReasonBadRequest)
	if n := len(h.waitFiles(before)); n != before {
		t.Errorf("a failed opening left %d files in the spool (%d before)", n, before)
	}
	// The connection's end releases everything.
	c.close()
	if n := len(h.waitFiles(0)); n != 0 {
		t.Errorf("%d spool files after the connection closed", n)
	}
	if code, _ := get(t, item.DownloadURL, protectOrigin); code != http.StatusNotFound {
		t.Errorf("a closed connection's result: %d", code)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return data
}

func (c *client) close() { c.ws.Close() }
