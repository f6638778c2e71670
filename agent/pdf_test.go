package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/pades/hostile"
	"github.com/tte-agent/tte-agent/pades/padestest"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/tsa/tsatest"
)

func corpusFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "pades", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeSigned writes original ‖ update, as a page would, and checks the
// announced size.
func writeSigned(t *testing.T, orig []byte, it protocol.PDFItem) (string, []byte) {
	t.Helper()
	signed := append(append([]byte{}, orig...), it.Update...)
	if int64(len(signed)) != it.SignedSize {
		t.Errorf("%s: signedSize %d, real %d", it.Name, it.SignedSize, len(signed))
	}
	p := filepath.Join(t.TempDir(), "signed-"+it.Name)
	if err := os.WriteFile(p, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, signed
}

func TestSignPDF(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	names := []string{"go-minimal.pdf", "go-incremental.pdf", "qpdf-objstm.pdf", "qpdf-linearized.pdf", "cairo.pdf", "ghostscript.pdf"}
	var items []any
	originals := map[string][]byte{}
	for _, n := range names {
		data := corpusFile(t, n)
		originals[n] = data
		items = append(items, map[string]any{"uploadId": c.upload(n, data, 500)})
	}
	res := mustCall[protocol.SignPDFResult](c, "sign.pdf", map[string]any{
		"certificateId": h.certID(rsaID), "items": items,
		"reason": "Menyetujui surat", "location": "Kota Denpasar", "contactInfo": "budi@denpasarkota.go.id",
	})
	if len(res.Items) != len(names) {
		t.Fatalf("%d items, want %d", len(res.Items), len(names))
	}
	if n := len(h.fake.Shown(t)); n != 1 {
		t.Errorf("%d dialogs for one batch, want 1", n)
	}
	for i, it := range res.Items {
		if it.Name != names[i] {
			t.Errorf("item %d is %q, want %q", i, it.Name, names[i])
		}
		path, signed := writeSigned(t, originals[it.Name], it)
		r := padestest.Check(t, path, h.caFile)
		if len(r.PdfsigValid) != 1 || !r.PdfsigValid[0] || !r.PdfsigTotal || len(r.PAdES) != 1 || r.PAdES[0] != "B-B" {
			t.Errorf("%s: %s", it.Name, r)
		}
		for _, w := range []string{"Menyetujui surat", "Kota Denpasar", "Budi Santoso"} {
			if !strings.Contains(r.Output, w) {
				t.Errorf("%s: pdfsig does not show %q", it.Name, w)
			}
		}
		if i == 2 {
			// Sign the signed file again with the EC key, visibly.
			id := c.upload("signed-"+it.Name, signed, 4000)
			res2 := mustCall[protocol.SignPDFResult](c, "sign.pdf", map[string]any{
				"certificateId": h.certID(p256ID), "items": []any{map[string]any{"uploadId": id}},
				"appearance": map[string]any{"page": 2, "rect": []float64{300, 100, 550, 170}, "text": []string{"Siti Rahayu", "Mengetahui"}},
			})
			// The dialog showed the appearance text that was signed.
			shown := h.fake.Shown(t)
			if d := shown[len(shown)-1].Desc; !strings.Contains(d, "| Siti Rahayu\n  | Mengetahui") {
				t.Errorf("the dialog does not show the appearance text:\n%s", d)
			}
			path2, _ := writeSigned(t, signed, res2.Items[0])
			r := padestest.Check(t, path2, h.caFile)
			if len(r.PdfsigValid) != 2 || !r.PdfsigValid[0] || !r.PdfsigValid[1] || !r.PdfsigTotal || r.PAdES[0] != "B-B" || r.PAdES[1] != "B-B" {
				t.Errorf("signed twice: %s", r)
			}
		}
	}
	if f := h.waitFiles(0); len(f) != 0 {
		t.Errorf("spool holds %v after sign.pdf", f)
	}
}

func TestSignPDFTimestamp(t *testing.T) {
	tsaSrv := tsatest.Start(t)
	h := newHarness(t, harnessOpts{tsaURL: tsaSrv.URL})
	// With a TSA the agent anchors its audit trail at start: the token
	// lands beside the trail once the TSA has answered.
	for deadline := time.Now().Add(testscale.D(10 * time.Second)); ; time.Sleep(10 * time.Millisecond) {
		if data, _ := os.ReadFile(audit.AnchorsPath(h.auditPath())); len(data) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the audit trail was not anchored at start")
		}
	}
	before := tsaSrv.Count()
	c := h.dial(testOrigin)
	orig := corpusFile(t, "qpdf-objstm.pdf")
	id := c.upload("surat.pdf", orig, 300)
	res := mustCall[protocol.SignPDFResult](c, "sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "level": "B-T",
		"signatureAlgorithm": "RSA-PSS", "items": []any{map[string]any{"uploadId": id}}})
	path, _ := writeSigned(t, orig, res.Items[0])
	r := padestest.Check(t, path, h.caFile, tsaSrv.CAFile)
	if len(r.PdfsigValid) != 1 || !r.PdfsigValid[0] || !r.PdfsigTotal || r.PAdES[0] != "B-B" || !r.Timestamped[0] {
		t.Errorf("B-T: %s", r)
	}
	if n := tsaSrv.Count() - before; n != 1 {
		t.Errorf("TSA asked %d times for one document, want 1", n)
	}
}

func TestSignPDFBadInput(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	tests := []struct{ file, want, problem string }{
		{"bad-truncated.pdf", "truncated", "truncated"},
		{"bad-encrypted.pdf", "password", "encrypted"},
		{"bad-not-pdf.pdf", "not a PDF", "not_pdf"},
		{"bad-malformed.pdf", "damaged", "broken_xref"},
	}
	for _, tt := range tests {
		good := c.upload("good.pdf", corpusFile(t, "go-minimal.pdf"), 1000)
		bad := c.upload(tt.file, corpusFile(t, tt.file), 1000)
		_, perr := c.call("sign.pdf", map[string]any{"certificateId": h.certID(rsaID),
			"items": []any{map[string]any{"uploadId": good}, map[string]any{"uploadId": bad}}})
		wantError(t, perr, protocol.ReasonBadRequest)
		if !strings.Contains(perr.Data.Detail, tt.want) || !strings.Contains(perr.Data.Detail, "items[1] ("+tt.file+")") {
			t.Errorf("%s: detail %q, want it to name the item and say %q", tt.file, perr.Data.Detail, tt.want)
		}
		if perr.Data.Problem != tt.problem || perr.Data.Item == nil || *perr.Data.Item != 1 {
			t.Errorf("%s: problem %q item %v, want %q and 1", tt.file, perr.Data.Problem, perr.Data.Item, tt.problem)
		}
	}
	// Several refused documents in one batch: every one is named, with
	// why, in one answer.
	var items []any
	for _, f := range []string{"go-minimal.pdf", "bad-encrypted.pdf", "go-minimal.pdf", "bad-truncated.pdf"} {
		items = append(items, map[string]any{"uploadId": c.upload(f, corpusFile(t, f), 1000)})
	}
	_, perr := c.call("sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "items": items})
	wantError(t, perr, protocol.ReasonBadRequest)
	if r := perr.Data.Refused; len(r) != 2 || r[0].Item != 1 || r[0].Name != "bad-encrypted.pdf" || r[0].Problem != "encrypted" ||
		r[1].Item != 3 || r[1].Problem != "truncated" || r[1].Detail == "" || *perr.Data.Item != 1 {
		t.Errorf("refused: %+v, item %v; want items 1 (encrypted) and 3 (truncated)", r, perr.Data.Item)
	}
	// Appearance text the built-in font cannot draw, and other refusals.
	for _, params := range []map[string]any{
		{"appearance": map[string]any{"page": 1, "rect": []float64{0, 0, 200, 50}, "text": []string{"Tanda tangan 签名"}}},
		{"appearance": map[string]any{"page": 1, "rect": []float64{0, 0, 200}}},
		{"level": "B-LT"},
		{"level": "B-T"}, // no TSA configured
	} {
		id := c.upload("a.pdf", corpusFile(t, "go-minimal.pdf"), 1000)
		params["certificateId"] = h.certID(rsaID)
		params["items"] = []any{map[string]any{"uploadId": id}}
		_, perr := c.call("sign.pdf", params)
		wantError(t, perr, protocol.ReasonBadRequest)
	}
	if n := len(h.fake.Shown(t)); n != 0 {
		t.Errorf("%d dialogs shown for documents that cannot be signed", n)
	}
	// A size mismatch: fewer bytes than declared. The upload is still
	// "arriving" when the request comes, so the user is asked at once and
	// the request fails once nothing more arrives for idle_timeout.
	res := mustCall[protocol.DocumentUploadResult](c, "document.upload", map[string]any{"name": "short.pdf", "size": 5000})
	c.send(res.UploadID, corpusFile(t, "go-minimal.pdf"))
	_, perr = c.call("sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"uploadId": res.UploadID}}})
	wantError(t, perr, protocol.ReasonBadRequest)
	if !strings.Contains(perr.Data.Detail, "of its declared 5000 bytes arrived") || perr.Data.Completed == nil || *perr.Data.Completed != 0 {
		t.Errorf("size mismatch: detail %q, completed %v", perr.Data.Detail, perr.Data.Completed)
	}
	if f := h.waitFiles(0); len(f) != 0 {
		t.Errorf("spool holds %v after refused requests", f)
	}
}

// TestUploadsOverlapSigning: a sign request may name uploads still
// arriving; the user is asked at once and items are signed as their bytes
// come in, so the last upload overlaps the work on the first ones.
func TestUploadsOverlapSigning(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	names := []string{"go-minimal.pdf", "cairo.pdf", "qpdf-objstm.pdf"}
	var items []any
	var ids []uint64
	for _, n := range names {
		data := corpusFile(t, n)
		res := mustCall[protocol.DocumentUploadResult](c, "document.upload", map[string]any{"name": n, "size": len(data)})
		ids = append(ids, res.UploadID)
		items = append(items, map[string]any{"uploadId": res.UploadID})
	}
	c.send(ids[0], corpusFile(t, names[0]))
	c.send(ids[1], corpusFile(t, names[1]))
	last := corpusFile(t, names[2])
	c.send(ids[2], last[:100]) // the third is still arriving
	if err := c.ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": "batch", "method": "sign.pdf",
		"params": map[string]any{"certificateId": h.certID(p256ID), "items": items}}); err != nil {
		t.Fatal(err)
	}
	for {
		r := c.read()
		if r.Method == "progress" && strings.Contains(string(r.Params), `"stage":"signing"`) {
			break // consent given and signing under way, the third upload still short
		}
		if r.Method == "" {
			t.Fatalf("the request ended before the last upload: %s %v", r.Result, r.Error)
		}
	}
	c.send(ids[2], last[100:])
	raw, perr := c.await(`"batch"`)
	if perr != nil {
		t.Fatal(perr)
	}
	var res protocol.SignPDFResult
	remarshal(t, raw, &res)
	for i, it := range res.Items {
		path, _ := writeSigned(t, corpusFile(t, names[i]), it)
		r := padestest.Check(t, path, h.caFile)
		if len(r.PdfsigValid) != 1 || !r.PdfsigValid[0] || !r.PdfsigTotal {
			t.Errorf("%s: %s", it.Name, r)
		}
	}
	if f := h.waitFiles(0); len(f) != 0 {
		t.Errorf("spool holds %v", f)
	}
}

// A reason the dialog cannot show exactly as it is signed is refused
// before the dialog; a certified document that allows no changes too.
func TestSignPDFShowsWhatIsSigned(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	id := c.upload("surat.pdf", corpusFile(t, "go-minimal.pdf"), 1000)
	_, perr := c.call("sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"uploadId": id}},
		"reason": "Menyetujui" + strings.Repeat(" ", 300) + "dan membatalkan"})
	wantError(t, perr, protocol.ReasonBadRequest)
	certified := hostile.Certified(1)
	id = c.upload("tersertifikasi.pdf", certified, 1000)
	_, perr = c.call("sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"uploadId": id}}})
	wantError(t, perr, protocol.ReasonBadRequest)
	if !strings.Contains(perr.Data.Detail, "DocMDP") {
		t.Errorf("detail %q", perr.Data.Detail)
	}
	if n := len(h.fake.Shown(t)); n != 0 {
		t.Errorf("%d dialogs shown", n)
	}
}
