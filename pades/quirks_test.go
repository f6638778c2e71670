package pades_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"

	"github.com/tte-agent/tte-agent/appearance"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/pades/padestest"
)

// Files that viewers open and that real e-office systems produce: a
// %PDF-1.8 header, NUL padding after %%EOF, a form asking viewers to
// regenerate appearances.
func TestViewerQuirks(t *testing.T) {
	s := newSigner(t, false)
	orig, err := os.ReadFile("testdata/go-minimal.pdf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	v18 := append([]byte("%PDF-1.8"), orig[len("%PDF-1.x"):]...)
	nul := append(append([]byte{}, orig...), make([]byte, 16)...)
	for name, data := range map[string][]byte{"pdf-1.8.pdf": v18, "nul-after-eof.pdf": nul} {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join(dir, name)
			os.WriteFile(in, data, 0o600)
			signed, err := sign(t, s, in, pades.Options{Appearance: &pades.Appearance{Page: 1, Rect: [4]float64{40, 40, 300, 100},
				Spec: appearance.Spec{Text: []string{"Budi Santoso"}, Frame: true}}})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			// pdfcpu refuses a 1.8 header itself, so pdfsig and qpdf judge.
			valid, _, out := padestest.Pdfsig(t, signed, s.caFile)
			if len(valid) != 1 || !valid[0] {
				t.Errorf("pdfsig:\n%s", out)
			}
			if b, err := exec.Command("qpdf", "--check", signed).CombinedOutput(); err != nil {
				t.Errorf("qpdf --check: %v\n%s", err, b)
			}
			got, _ := os.ReadFile(signed)
			if !bytes.HasPrefix(got, data) {
				t.Error("the original bytes changed")
			}
		})
	}
}

// A form with /NeedAppearances true loses the flag, so that viewers draw
// the signature's own appearance.
func TestNeedAppearancesDropped(t *testing.T) {
	s := newSigner(t, false)
	for _, name := range []string{"realworld/qpdf-need-appearances-utf8.pdf", "realworld/sf-libreoffice-form.pdf"} {
		t.Run(name, func(t *testing.T) {
			signed, err := sign(t, s, filepath.Join("testdata", name), pades.Options{Appearance: &pades.Appearance{Page: 1, Rect: [4]float64{40, 40, 300, 100},
				Spec: appearance.Spec{Text: []string{"Budi Santoso"}, Frame: true}}})
			if err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(signed)
			orig, _ := os.ReadFile(filepath.Join("testdata", name))
			if bytes.Contains(data[len(orig):], []byte("NeedAppearances")) {
				t.Error("the update keeps /NeedAppearances")
			}
			// Rendered by poppler, the box shows.
			before := render(t, "pdftoppm", filepath.Join("testdata", name), 1)
			after := render(t, "pdftoppm", signed, 1)
			in0, _ := dark(before, box(before, [4]float64{40, 40, 300, 100}))
			in1, _ := dark(after, box(after, [4]float64{40, 40, 300, 100}))
			if in1 <= in0+100 {
				t.Errorf("poppler draws %d dark pixels in the box, %d before signing: the signature is not seen", in1, in0)
			}
		})
	}
}

// Signed three times with no explicit place, the boxes never overlap, and
// every signature stays valid after the next (pdfsig and pdfcpu).
func TestSeveralSignersAutoPlaced(t *testing.T) {
	s := newSigner(t, false)
	for _, file := range []string{"testdata/go-minimal.pdf", "testdata/qpdf-objstm.pdf"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			in := file
			for i, who := range []string{"Paraf: Kepala Seksi", "Paraf: Kepala Bidang", "Kepala Dinas"} {
				signed, err := sign(t, s, in, pades.Options{Appearance: &pades.Appearance{Auto: true, Size: [2]float64{180, 60},
					Spec: appearance.Spec{Text: []string{who, "Budi Santoso"}, Frame: true}}})
				if err != nil {
					t.Fatal(err)
				}
				r := padestest.Check(t, signed, s.caFile)
				if len(r.PdfsigValid) != i+1 || !r.PdfsigTotal || len(r.PAdES) != i+1 {
					t.Fatalf("after signature %d: %s", i+1, r)
				}
				for j := range r.PdfsigValid {
					if !r.PdfsigValid[j] || r.PAdES[j] != "B-B" {
						t.Errorf("after signature %d, signature %d: pdfsig %v, pdfcpu %q", i+1, j+1, r.PdfsigValid[j], r.PAdES[j])
					}
				}
				in = signed
			}
			ctx, err := api.ReadContextFile(in)
			if err != nil {
				t.Fatal(err)
			}
			page, _, _, err := ctx.PageDict(ctx.PageCount, false)
			if err != nil {
				t.Fatal(err)
			}
			annots, _ := ctx.DereferenceArray(page["Annots"])
			var rects [][4]float64
			for _, a := range annots {
				d, _ := ctx.DereferenceDict(a)
				arr, _ := ctx.DereferenceArray(d["Rect"])
				var r [4]float64
				for k, v := range arr {
					r[k], _ = ctx.DereferenceNumber(v)
				}
				rects = append(rects, r)
			}
			if len(rects) != 3 {
				t.Fatalf("%d widgets on the last page, want 3", len(rects))
			}
			for a := range rects {
				for b := a + 1; b < len(rects); b++ {
					p, q := rects[a], rects[b]
					if p[0] < q[2] && q[0] < p[2] && p[1] < q[3] && q[1] < p[3] {
						t.Errorf("boxes %v and %v overlap", p, q)
					}
				}
			}
		})
	}
}
