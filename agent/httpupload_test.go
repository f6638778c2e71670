package agent_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

// put sends body to url as a page on origin would.
func put(t *testing.T, url, origin string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/pdf")
	resp, err := (&http.Client{Timeout: testscale.D(30 * time.Second)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 300 && resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("an accepted upload without CORS headers for %s: %v", origin, resp.Header)
	}
	return resp.StatusCode, string(msg)
}

// The fast path: document.upload returns a one-time URL; the bytes PUT
// there are the document the request signs, hashed and spooled as they
// arrive; the URL works once, from the connection's origin, while the
// connection lives, and never past the declared size.
func TestHTTPUpload(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	doc := make([]byte, 3<<20+17) // spooled to disk, several chunks
	rand.Read(doc)
	up := mustCall[protocol.DocumentUploadResult](c, "document.upload", map[string]any{"name": "laporan.pdf", "size": len(doc)})
	if !strings.HasPrefix(up.UploadURL, "http://127.0.0.1:") || !strings.Contains(up.UploadURL, "/v1/upload/") || len(up.UploadURL) < 64 {
		t.Fatalf("uploadUrl %q", up.UploadURL)
	}
	if code, msg := put(t, up.UploadURL, otherOrigin, doc); code != http.StatusForbidden {
		t.Errorf("another origin: %d %s", code, msg)
	}
	if code, msg := put(t, up.UploadURL, testOrigin, doc); code != http.StatusNoContent {
		t.Fatalf("PUT: %d %s", code, msg)
	}
	res := mustCall[protocol.SignCMSResult](c, "sign.cms", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"uploadId": up.UploadID}}})
	if _, err := opensslCMS(t, h, res.Items[0].CMS, doc); err != nil {
		t.Fatalf("the CMS does not verify over the uploaded bytes: %v", err)
	}
	if code, _ := put(t, up.UploadURL, testOrigin, doc); code != http.StatusNotFound {
		t.Errorf("a used URL: %d", code)
	}
	// Several uploads through one URL, their bytes one after another in
	// one body (sizes 0 included, first and between); each is then its
	// own document.
	parts := [][]byte{{}, []byte("surat pertama"), {}, bytes.Repeat([]byte("b"), 300<<10)}
	var ids []uint64
	for i, p := range parts {
		ids = append(ids, mustCall[protocol.DocumentUploadResult](c, "document.upload", map[string]any{"name": "s" + string(rune('a'+i)), "size": len(p)}).UploadID)
	}
	multi := mustCall[protocol.DocumentUploadURLResult](c, "document.uploadUrl", map[string]any{"uploadIds": ids})
	if code, msg := put(t, multi.UploadURL, testOrigin, bytes.Join(parts, nil)); code != http.StatusNoContent {
		t.Fatalf("one body for three uploads: %d %s", code, msg)
	}
	items := []any{}
	for _, id := range ids {
		items = append(items, map[string]any{"uploadId": id})
	}
	three := mustCall[protocol.SignCMSResult](c, "sign.cms", map[string]any{"certificateId": h.certID(rsaID), "items": items})
	for i, p := range parts {
		if _, err := opensslCMS(t, h, three.Items[i].CMS, p); err != nil {
			t.Errorf("document %d of the shared body: %v", i, err)
		}
	}
	if _, perr := c.call("document.uploadUrl", map[string]any{"uploadIds": []uint64{ids[0]}}); perr == nil || perr.Data.Reason != protocol.ReasonBadRequest {
		t.Errorf("an upload URL for a finished upload: %v", perr)
	}
	// More bytes than declared: refused, and the page told on its socket.
	over := mustCall[protocol.DocumentUploadResult](c, "document.upload", map[string]any{"name": "a.pdf", "size": 10})
	if code, msg := put(t, over.UploadURL, testOrigin, []byte("01234567890123")); code != http.StatusBadRequest || !strings.Contains(msg, "declared size") {
		t.Errorf("over the declared size: %d %s", code, msg)
	}
	// A connection's URLs die with it.
	other := h.dial(testOrigin)
	gone := mustCall[protocol.DocumentUploadResult](other, "document.upload", map[string]any{"name": "b.pdf", "size": 4})
	other.ws.Close()
	deadline := time.Now().Add(testscale.D(5 * time.Second))
	for {
		code, _ := put(t, gone.UploadURL, testOrigin, []byte("abcd"))
		if code == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed connection's upload URL still answers %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The CORS preflight a browser sends first, local-network included.
	req, _ := http.NewRequest(http.MethodOptions, up.UploadURL, nil)
	req.Header.Set("Origin", testOrigin)
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Private-Network", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Methods") != "PUT, POST" || resp.Header.Get("Access-Control-Allow-Private-Network") != "true" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}
