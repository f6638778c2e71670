package pades_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tte-agent/tte-agent/appearance"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/pades/padestest"
)

// A PDF/A document (parts 1 and 2) signed visibly with a translucent
// image keeps its declaration and output intent, gets no soft mask, and
// every font the appearance uses is embedded.
func TestPDFAStaysPDFA(t *testing.T) {
	s := newSigner(t, false)
	img, err := appearance.ParseImage(seal(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vera-TWG_test_suite_A001-pdfa1-pass-a.pdf", "vera-TWG_test_suite_A012-pdfa2-pass-a.pdf", "sf-crazyones-pdfa.pdf"} {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join("testdata", "realworld", name)
			signed, err := sign(t, s, in, pades.Options{Appearance: &pades.Appearance{Auto: true, Size: [2]float64{200, 70},
				Spec: appearance.Spec{Image: img, Text: []string{"Budi Santoso"}, QR: verifyURL}}})
			if err != nil {
				t.Fatal(err)
			}
			orig, _ := os.ReadFile(in)
			out, _ := os.ReadFile(signed)
			update := out[len(orig):]
			if bytes.Contains(update, []byte("/SMask")) {
				t.Error("the appearance of a PDF/A document has a soft mask")
			}
			if bytes.Contains(update, []byte("/Subtype/Type1")) || !bytes.Contains(update, []byte("/FontFile2")) {
				t.Error("the appearance uses a font that is not embedded")
			}
			// A rewritten catalog keeps the declaration and output intents.
			for _, obj := range bytes.Split(update, []byte("endobj")) {
				if bytes.Contains(obj, []byte("/Type/Catalog")) && (!bytes.Contains(obj, []byte("/Metadata")) || !bytes.Contains(obj, []byte("/OutputIntents"))) {
					t.Errorf("the rewritten catalog lost /Metadata or /OutputIntents: %s", obj)
				}
			}
			valid, _, report := padestestPdfsig(t, signed, s.caFile)
			if len(valid) == 0 || !valid[len(valid)-1] {
				t.Errorf("pdfsig:\n%s", report)
			}
		})
	}
}

var padestestPdfsig = padestestPdfsigFunc

func padestestPdfsigFunc(t *testing.T, path, ca string) ([]bool, []bool, string) {
	return padestest.Pdfsig(t, path, ca)
}
