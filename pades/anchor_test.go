package pades_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tte-agent/tte-agent/appearance"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/pades/padestest"
)

// letterWithMarker is a two-page letter whose template put the marker
// "^" where the head signs: on page 2 at (350, 200), after other text on
// the same line, and "#" drawn through a TJ array with kerning.
func letterWithMarker() []byte {
	return buildPDF(
		"<</Type/Catalog/Pages 2 0 R>>",
		"<</Type/Pages/Kids[3 0 R 6 0 R]/Count 2/MediaBox[0 0 595 842]/Resources<</Font<</F1 4 0 R>>>>>>",
		"<</Type/Page/Parent 2 0 R/Contents 5 0 R>>",
		"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
		stream("BT /F1 12 Tf 72 720 Td (Nota Dinas Nomor 7) Tj ET"),
		"<</Type/Page/Parent 2 0 R/Contents 7 0 R>>",
		// "Kepala " then the marker, in the same text object.
		stream("BT /F1 12 Tf 72 700 Td (Demikian untuk dilaksanakan.) Tj ET\nq 1 0 0 1 50 0 cm BT /F1 12 Tf 1 0 0 1 250 200 Tm (Kepala ) Tj (^) Tj ET Q\n"+
			"BT /F1 12 Tf 72 150 Td [(Tembusan ) -250 (#)] TJ ET"),
	)
}

// The box lands at the template's marker: found on the right page, after
// other text on its line, through cm and Tm; a missing marker is refused.
func TestAnchorPlacement(t *testing.T) {
	s := newSigner(t, false)
	in := filepath.Join(t.TempDir(), "letter.pdf")
	os.WriteFile(in, letterWithMarker(), 0o600)
	// "Kepala " in Helvetica 12 is 41.364 points wide: the marker is at
	// x = 50 + 250 + 41.364.
	const mx, my = 341.364, 200.0
	signed, err := sign(t, s, in, pades.Options{Appearance: &pades.Appearance{Auto: true, Anchor: "^", Size: [2]float64{150, 60}, Offset: [2]float64{0, -20},
		Spec: appearance.Spec{Text: []string{"Kepala Dinas", "Budi Santoso"}, Frame: true}}})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, "pdftoppm", signed, 2)
	want := [4]float64{mx, my - 20, mx + 150, my + 40}
	if in, _ := dark(page, box(page, want).Inset(2)); in < 150 {
		t.Errorf("%d dark pixels where the marker is: the box is not at the anchor", in)
	}
	// Helvetica here has no /Widths (a standard font), so the text before
	// the marker is measured at half an em a character: within 3 points.
	data, _ := os.ReadFile(signed)
	m := regexp.MustCompile(`/Rect\[([0-9.]+) ([0-9.]+) `).FindSubmatch(data[len(letterWithMarker()):])
	if m == nil {
		t.Fatal("no /Rect in the update")
	}
	x, _ := strconv.ParseFloat(string(m[1]), 64)
	y, _ := strconv.ParseFloat(string(m[2]), 64)
	if math.Abs(x-mx) > 3 || math.Abs(y-(my-20)) > 0.01 {
		t.Errorf("the box starts at (%v, %v), the marker plus offset is at (%v, %v)", x, y, mx, my-20)
	}
	// A marker drawn in a TJ array with kerning is found too.
	if _, err := sign(t, s, in, pades.Options{Appearance: &pades.Appearance{Auto: true, Anchor: "#", Size: [2]float64{150, 60},
		Spec: appearance.Spec{Text: []string{"x"}}}}); err != nil {
		t.Errorf("TJ marker: %v", err)
	}
	_, err = sign(t, s, in, pades.Options{Appearance: &pades.Appearance{Auto: true, Anchor: "$ttd$", Size: [2]float64{150, 60},
		Spec: appearance.Spec{Text: []string{"x"}}}})
	if err == nil || !strings.Contains(err.Error(), "not in the text of any page") {
		t.Errorf("missing marker: %v", err)
	}
}

// The text reader finds what pdftotext finds in real documents.
func TestPageTextMatchesPdftotext(t *testing.T) {
	for _, name := range []string{"cairo.pdf", "ghostscript.pdf", "qpdf-objstm.pdf",
		"realworld/pdfjs-160F-2019.pdf", "realworld/pdfjs-bug1997343.pdf", "realworld/sf-google-doc-document.pdf",
		"realworld/sf-002-trivial-libre-office-writer.pdf", "realworld/sf-crazyones-pdfa.pdf", "realworld/pdfjs-TAMReview.pdf"} {
		t.Run(name, func(t *testing.T) {
			out, err := runTool(t, "pdftotext", "-f", "1", "-l", "1", filepath.Join("testdata", name), "-")
			if err != nil {
				t.Fatal(err)
			}
			words := strings.Fields(out)
			if len(words) == 0 {
				t.Fatal("pdftotext reads no text on page 1: pick a file with text")
			}
			word := words[len(words)/2]
			for _, w := range words {
				if len(w) > len(word) && len(w) < 20 {
					word = w
				}
			}
			if _, err := sign(t, newSigner(t, false), filepath.Join("testdata", name), pades.Options{Appearance: &pades.Appearance{Auto: true, Anchor: word, Page: 1,
				Size: [2]float64{20, 20}, Spec: appearance.Spec{QR: "x"}}}); err != nil && !strings.Contains(err.Error(), "outside page") {
				t.Errorf("pdftotext reads %q on page 1; the anchor search does not find it: %v", word, err)
			}
		})
	}
}

func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not installed: run scripts/install-deps.sh", name)
	}
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}

// threePages is a letter whose template marks every page's initials
// (paraf) with "#".
func threePages() []byte {
	objs := []string{"<</Type/Catalog/Pages 2 0 R>>",
		"<</Type/Pages/Kids[3 0 R 5 0 R 7 0 R]/Count 3/MediaBox[0 0 595 842]/Resources<</Font<</F1 9 0 R>>>>>>"}
	for i := range 3 {
		objs = append(objs, fmt.Sprintf("<</Type/Page/Parent 2 0 R/Contents %d 0 R>>", 4+2*i),
			stream(fmt.Sprintf("BT /F1 11 Tf 72 760 Td (Halaman %d) Tj ET BT /F1 11 Tf 480 60 Td (#) Tj ET", i+1)))
	}
	return buildPDF(append(objs, "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>")...)
}

// anchorAll puts the one signature at every page's marker.
func TestAnchorEveryOccurrence(t *testing.T) {
	s := newSigner(t, false)
	in := filepath.Join(t.TempDir(), "paraf.pdf")
	os.WriteFile(in, threePages(), 0o600)
	signed, err := sign(t, s, in, pades.Options{Appearance: &pades.Appearance{Auto: true, Anchor: "#", AnchorAll: true, Size: [2]float64{80, 30},
		Spec: appearance.Spec{Text: []string{"Paraf", "B.S."}, Frame: true}}})
	if err != nil {
		t.Fatal(err)
	}
	// pdfsig lists the signature once per widget, each valid.
	valid, _, out := padestest.Pdfsig(t, signed, s.caFile)
	if len(valid) != 3 || !valid[0] || !valid[1] || !valid[2] {
		t.Fatalf("pdfsig:\n%s", out)
	}
	data, _ := os.ReadFile(signed)
	ins, err := pades.Inspect(t.Context(), bytes.NewReader(data), int64(len(data)))
	if err != nil || len(ins.Fields) != 1 {
		t.Fatalf("Inspect sees %d signatures, want 1 (%v)", len(ins.Fields), err)
	}
	for p := 1; p <= 3; p++ {
		page := render(t, "mutool", signed, p)
		if in, _ := dark(page, box(page, [4]float64{480, 60, 560, 90}).Inset(-2)); in < 100 {
			t.Errorf("page %d: %d dark pixels at the marker", p, in)
		}
	}
	r := padestest.Check(t, signed, s.caFile)
	for _, l := range r.PAdES {
		if l != "B-B" {
			t.Errorf("pdfcpu: %s", r)
		}
	}
	if len(r.PAdES) == 0 {
		t.Errorf("pdfcpu found no signature: %s", r)
	}
}
