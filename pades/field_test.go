package pades_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tte-agent/tte-agent/appearance"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/pades/padestest"
)

// buildPDF writes a PDF whose objects 1, 2, ... are objs (object 1 the
// catalog), with a classic cross-reference table.
func buildPDF(objs ...string) []byte {
	var b bytes.Buffer
	offs := make([]int, len(objs))
	b.WriteString("%PDF-1.7\n")
	for i, body := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, x)
	return b.Bytes()
}

// stream is a content stream object's body.
func stream(content string) string {
	return fmt.Sprintf("<</Length %d>>stream\n%s\nendstream", len(content), content)
}

// templatePDF is a one-page letter whose template left an empty signature
// field "TTD_Kepala" at [300 100 520 170].
func templatePDF() []byte {
	return buildPDF(
		"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[6 0 R]>>>>",
		"<</Type/Pages/Kids[3 0 R]/Count 1>>",
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 4 0 R>>>>/Contents 5 0 R/Annots[6 0 R]>>",
		"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
		stream("BT /F1 12 Tf 72 720 Td (Surat Keputusan Kepala Dinas) Tj ET"),
		"<</Type/Annot/Subtype/Widget/FT/Sig/T(TTD_Kepala)/Rect[300 100 520 170]/F 4/P 3 0 R>>",
	)
}

// The template's empty field is signed in place, with its appearance in
// the field's own rectangle; a wrong or signed name is refused.
func TestSignNamedField(t *testing.T) {
	s := newSigner(t, false)
	in := filepath.Join(t.TempDir(), "template.pdf")
	os.WriteFile(in, templatePDF(), 0o600)
	signed, err := sign(t, s, in, pades.Options{Field: "TTD_Kepala", Appearance: &pades.Appearance{Auto: true, Size: [2]float64{200, 80},
		Spec: appearance.Spec{Text: []string{"Kepala Dinas", "Budi Santoso"}, Frame: true}}})
	if err != nil {
		t.Fatal(err)
	}
	r := padestest.Check(t, signed, s.caFile)
	if len(r.PdfsigValid) != 1 || !r.PdfsigValid[0] || !strings.Contains(r.Output, "Signature Field Name: TTD_Kepala") {
		t.Fatalf("pdfsig: %s", r)
	}
	page := render(t, "pdftoppm", signed, 1)
	if in, _ := dark(page, box(page, [4]float64{300, 100, 520, 170})); in < 300 {
		t.Errorf("%d dark pixels in the template's field: the appearance is not drawn there", in)
	}
	for _, tc := range []struct{ file, field, want string }{
		{in, "TTD_Sekretaris", "no signature field of that name"},
		{signed, "TTD_Kepala", "signed already"},
	} {
		if _, err := sign(t, s, tc.file, pades.Options{Field: tc.field}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.field, err, tc.want)
		}
	}
}

// A certification signature with P=2 lets a later signature in; P=1
// refuses it before anything is signed; certifying a signed document is
// refused.
func TestCertification(t *testing.T) {
	s := newSigner(t, false)
	for _, p := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("P=%d", p), func(t *testing.T) {
			cert, err := sign(t, s, "testdata/go-minimal.pdf", pades.Options{Certify: p})
			if err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(cert)
			if !bytes.Contains(data, []byte("/Perms<</DocMDP")) || !bytes.Contains(data, []byte(fmt.Sprintf("/TransformParams<</Type/TransformParams/P %d", p))) {
				t.Fatal("no DocMDP certification written")
			}
			r := padestest.Check(t, cert, s.caFile)
			if len(r.PdfsigValid) != 1 || !r.PdfsigValid[0] {
				t.Fatalf("pdfsig: %s", r)
			}
			_, err = sign(t, s, cert, pades.Options{})
			if p == 1 {
				if err == nil || !strings.Contains(err.Error(), "DocMDP P=1") {
					t.Errorf("a signature after P=1: %v", err)
				}
			} else if err != nil {
				t.Errorf("a signature after P=%d refused: %v", p, err)
			}
			if _, err := sign(t, s, cert, pades.Options{Certify: 2}); err == nil {
				t.Error("a second certification was accepted")
			}
		})
	}
}
