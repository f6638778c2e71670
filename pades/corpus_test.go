package pades_test

import (
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tte-agent/tte-agent/appearance"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/pades/padestest"
)

// refusedRealWorld lists the real-world files the agent refuses, with
// why. Every other file of the corpus must be signed with a visible
// signature every validator accepts and every renderer draws.
var refusedRealWorld = map[string]pades.Problem{
	// Viewers open these only by rebuilding the cross-reference table.
	"opf-027613.pdf":                   pades.ProblemBrokenXref,
	"opf-303226.pdf":                   pades.ProblemBrokenXref,
	"opf-498264.pdf":                   pades.ProblemBrokenXref,
	"opf-corruptionOneByteMissing.pdf": pades.ProblemBrokenXref,
	"pdfjs-xref_command_missing.pdf":   pades.ProblemBrokenXref,
	"pdfjs-poppler-742-0-fuzzed.pdf":   pades.ProblemBrokenXref,
	// No startxref at all; qpdf cannot recover it either.
	"qpdf-recover-xref-stream.pdf": pades.ProblemTruncated,
	// A password to open.
	"sf-libreoffice-writer-password.pdf": pades.ProblemEncrypted,
	// Empty user password, but forms and annotations forbidden (P=-1852).
	"pdfjs-issue17215.pdf": pades.ProblemPermissions,
	// Certified with no changes allowed (DocMDP P=1).
	"qpdf-minimal-signed-restricted.pdf": pades.ProblemCertified,
}

// Every real-world file (testdata/realworld, from public test corpora):
// signed visibly where viewers open it, validated by pdfsig, pdfcpu and
// qpdf, opened by mutool, the box drawn by pdftoppm; or refused with the
// Problem the table above names.
func TestRealWorldCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/realworld/*.pdf")
	if err != nil || len(files) < 60 {
		t.Fatalf("%d real-world files (%v)", len(files), err)
	}
	s := newSigner(t, false)
	for _, in := range files {
		name := filepath.Base(in)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			signed, err := sign(t, s, in, pades.Options{Reason: "Persetujuan", Appearance: &pades.Appearance{Auto: true, Size: [2]float64{200, 80},
				Spec: appearance.Spec{Frame: true, Text: []string{"Ditandatangani oleh", "Ni Luh Putu Ayu Wijayanti, S.E., M.Ak."}}}})
			if want, refused := refusedRealWorld[name]; refused {
				if got := pades.ProblemOf(err); got != want {
					t.Fatalf("refused with problem %q (%v), want %q", got, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v (problem %q)", err, pades.ProblemOf(err))
			}
			r := padestest.CheckLike(t, in, signed, s.caFile)
			n := len(r.PdfsigValid)
			if n == 0 || !r.PdfsigValid[n-1] || !r.PdfsigTotal {
				t.Errorf("pdfsig does not accept the new signature: %s", r)
			}
			// pdfcpu lists signatures in its own order; the originals'
			// adbe.pkcs7 signatures are not PAdES.
			if len(r.PAdES) > 0 && !slices.Contains(r.PAdES, "B-B") {
				t.Errorf("pdfcpu does not accept the new signature: %s", r)
			}
			if out, err := exec.Command("mutool", "info", signed).CombinedOutput(); err != nil || strings.Contains(string(out), "error") {
				t.Errorf("mutool info: %v\n%s", err, out)
			}
			// The box is seen: the last page (where an automatic box
			// goes) renders differently in poppler and MuPDF.
			last := pageCount(t, in)
			for _, tool := range []string{"pdftoppm", "mutool"} {
				if n := changedPixels(render(t, tool, in, last), render(t, tool, signed, last)); n < 400 {
					t.Errorf("%s: %d pixels of page %d changed: the signature is not drawn", tool, n, last)
				}
			}
			orig, _ := os.ReadFile(in)
			got, _ := os.ReadFile(signed)
			if !strings.HasPrefix(string(got), string(orig)) {
				t.Error("the original bytes changed")
			}
		})
	}
}

// pageCount asks pdfinfo (poppler) how many pages the PDF at path has.
func pageCount(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("pdfinfo", path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo names no page count:\n%s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// changedPixels counts the pixels that differ visibly between a and b.
func changedPixels(a, b image.Image) int {
	if a.Bounds() != b.Bounds() {
		return a.Bounds().Dx() * a.Bounds().Dy()
	}
	n := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if diff(r1, r2)+diff(g1, g2)+diff(b1, b2) > 0x6000 {
				n++
			}
		}
	}
	return n
}

func diff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
