package agent_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/tte-agent/tte-agent/pades/padestest"
	"github.com/tte-agent/tte-agent/protocol"
)

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for x := range 40 {
		img.Set(x, 10, color.NRGBA{0, 0, 120, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A visible signature with an uploaded image, a QR code and text: the
// dialog says what the box will show, the image upload is consumed, and
// the result validates.
func TestSignPDFAppearanceContent(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	orig := corpusFile(t, "go-minimal.pdf")
	id := c.upload("surat.pdf", orig, 3000)
	img := c.upload("ttd.png", testPNG(t), 3000)
	res := mustCall[protocol.SignPDFResult](c, "sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"uploadId": id}},
		"appearance": map[string]any{"page": 1, "rect": []float64{40, 40, 400, 130}, "image": map[string]any{"uploadId": img},
			"qr": "https://tte.example.go.id/verifikasi/42", "text": []string{"Ni Luh Putu Ayu Wijayanti, S.E., M.Ak."}}})
	shown := h.fake.Shown(t)
	d := shown[len(shown)-1].Desc
	for _, want := range []string{"| Ni Luh Putu Ayu Wijayanti, S.E., M.Ak.", "dengan gambar", "Kode QR berisi: https://tte.example.go.id/verifikasi/42"} {
		if !strings.Contains(d, want) {
			t.Errorf("the dialog does not say %q:\n%s", want, d)
		}
	}
	path, _ := writeSigned(t, orig, res.Items[0])
	if r := padestest.Check(t, path, h.caFile); len(r.PdfsigValid) != 1 || !r.PdfsigValid[0] {
		t.Errorf("pdfsig: %s", r)
	}
	// The image upload was used up with the request.
	_, e := c.call("document.discard", map[string]any{"uploadId": img})
	wantError(t, e, protocol.ReasonBadRequest)

	// Refusals name the field, before any dialog.
	before := len(h.fake.Shown(t))
	for _, tc := range []struct {
		ap   map[string]any
		want string
	}{
		{map[string]any{"page": 1, "rect": []float64{40, 40, 400, 130}, "image": map[string]any{"data": []byte("not an image")}}, "not a PNG or JPEG"},
		{map[string]any{"page": 1, "rect": []float64{40, 40, 400, 130}, "preset": "bsre"}, "needs appearance.qr"},
		{map[string]any{"page": 1, "rect": []float64{40, 40, 400, 130}, "text": []string{"签名"}}, "not in the embedded font"},
		{map[string]any{"page": 1, "rect": []float64{40, 40, 400, 130}, "qr": strings.Repeat("x", 200)}, "QR code"},
	} {
		id := c.upload("surat.pdf", orig, 3000)
		_, e := c.call("sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"uploadId": id}}, "appearance": tc.ap})
		wantError(t, e, protocol.ReasonBadRequest)
		if !strings.Contains(e.Data.Detail, tc.want) && !strings.Contains(e.Message, tc.want) {
			t.Errorf("%v: %q / %q lacks %q", tc.ap, e.Message, e.Data.Detail, tc.want)
		}
	}
	if n := len(h.fake.Shown(t)); n != before {
		t.Errorf("%d dialogs for refused appearances", n-before)
	}
}
