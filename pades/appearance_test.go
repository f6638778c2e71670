package pades_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/appearance"
	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/pades/padestest"
)

// darkPixels renders page 2 at 72 dpi and counts dark pixels inside and
// outside the rectangle (PDF coordinates, origin bottom-left).
func darkPixels(t *testing.T, pdf string, rect [4]float64) (inside, outside int) {
	t.Helper()
	img := render(t, "pdftoppm", pdf, 2)
	return dark(img, box(img, rect))
}

func TestVisibleAppearance(t *testing.T) {
	s := newSigner(t, false)
	rect := [4]float64{300, 100, 550, 170}
	before, _ := darkPixels(t, "testdata/qpdf-objstm.pdf", rect)
	signed, err := sign(t, s, "testdata/qpdf-objstm.pdf", pades.Options{Appearance: &pades.Appearance{
		Page: 2, Rect: rect,
		Spec: appearance.Spec{Frame: true, Text: []string{"Ditandatangani secara elektronik oleh", "Budi Santoso, S.Kom.", "Kepala Dinas Kominfo", "22 November 2026 · José Ñ"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := padestest.Check(t, signed, s.caFile)
	if len(r.PdfsigValid) != 1 || !r.PdfsigValid[0] || !r.PdfsigTotal || r.PAdES[0] != "B-B" {
		t.Fatalf("visible signature: %s", r)
	}
	inside, _ := darkPixels(t, signed, rect)
	if before != 0 || inside < 200 {
		t.Errorf("dark pixels in the signature box: %d before, %d after; want 0 and a drawn box with text", before, inside)
	}
}

func TestAppearanceRefusals(t *testing.T) {
	s := newSigner(t, false)
	tests := []struct {
		name string
		a    pades.Appearance
		want string
	}{
		{"CJK text", pades.Appearance{Page: 1, Rect: [4]float64{0, 0, 200, 50}, Spec: appearance.Spec{Text: []string{"签名"}}}, "is not in the embedded font"},
		{"emoji", pades.Appearance{Page: 1, Rect: [4]float64{0, 0, 200, 50}, Spec: appearance.Spec{Text: []string{"ok 👍"}}}, "U+1F44D"},
		{"no such page", pades.Appearance{Page: 3, Rect: [4]float64{0, 0, 200, 50}, Spec: appearance.Spec{Text: []string{"x"}}}, "has 2 pages"},
		{"empty rect", pades.Appearance{Page: 1, Rect: [4]float64{10, 10, 10, 60}, Spec: appearance.Spec{Text: []string{"x"}}}, "at least 10 points"},
		{"too small for text", pades.Appearance{Page: 1, Rect: [4]float64{0, 0, 20, 12}, Spec: appearance.Spec{Text: []string{"a long line of text that cannot fit"}}}, "does not fit"},
		{"control character", pades.Appearance{Page: 1, Rect: [4]float64{0, 0, 200, 50}, Spec: appearance.Spec{Text: []string{"a\nb"}}}, "control"},
		{"outside the page", pades.Appearance{Page: 1, Rect: [4]float64{700, 900, 900, 950}, Spec: appearance.Spec{Text: []string{"x"}}}, "lies outside page 1"},
		{"nothing to draw", pades.Appearance{Page: 1, Rect: [4]float64{0, 0, 200, 50}}, "give text, qr, image"},
		{"unknown preset", pades.Appearance{Page: 1, Rect: [4]float64{0, 0, 200, 50}, Spec: appearance.Spec{Preset: "gold"}}, "preset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			_, err := sign(t, s, "testdata/go-minimal.pdf", pades.Options{Appearance: &a})
			if !errors.Is(err, pades.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

// FuzzPrepare: no input makes the reader panic or hang; whatever it
// accepts yields a placeholder that Finish can fill.
func FuzzPrepare(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.pdf")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The agent gives a parse one second of CPU and then cancels it:
		// a parse must stop soon after its context ends.
		ctx, cancel := context.WithTimeout(context.Background(), testscale.D(time.Second))
		defer cancel()
		var u *pades.Update
		var err error
		testscale.Within(t, 2*time.Second, "preparing the document", func() {
			u, err = pades.Prepare(ctx, strings.NewReader(string(data)), int64(len(data)), pades.Options{ContentsSize: 2048})
		})
		if err != nil {
			return
		}
		if _, err := u.Finish(make([]byte, 2048)); err != nil {
			t.Fatalf("Finish on an accepted document: %v", err)
		}
	})
}
