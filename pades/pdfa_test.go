package pades_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
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
			// An independent PDF/A checker, PDFBox Preflight (PDF/A-1b
			// rules only): signing adds no error to what it found in the
			// original, and a valid PDF/A-1 file stays valid.
			before, after := preflight(t, in), preflight(t, signed)
			for _, e := range after {
				if !slices.Contains(before, e) {
					t.Errorf("PDFBox Preflight finds a new PDF/A-1b error after signing: %s (before: %q)", e, before)
				}
			}
			t.Logf("Preflight before signing %q, after %q", before, after)
			valid, _, report := padestestPdfsig(t, signed, s.caFile)
			if len(valid) == 0 || !valid[len(valid)-1] {
				t.Errorf("pdfsig:\n%s", report)
			}
		})
	}
}

// preflightClasspath is PDFBox Preflight 2.0 as Debian packages it
// (libpdfbox2-java) with the Java EE APIs it needs on Java 11 and later
// (libactivation-java, libjaxb-api-java).
var preflightClasspath = []string{"/usr/share/java/preflight.jar", "/usr/share/java/pdfbox2.jar", "/usr/share/java/fontbox2.jar",
	"/usr/share/java/xmpbox.jar", "/usr/share/java/commons-logging.jar", "/usr/share/java/javax.activation.jar", "/usr/share/java/jaxb-api.jar"}

// preflight returns the PDF/A-1b errors PDFBox Preflight finds in the
// file at path, sorted; none for a valid PDF/A-1b file.
func preflight(t *testing.T, path string) []string {
	t.Helper()
	if _, err := exec.LookPath("java"); err != nil {
		t.Fatal("java is not installed (default-jre-headless): run scripts/install-deps.sh test")
	}
	for _, jar := range preflightClasspath {
		if _, err := os.Stat(jar); err != nil {
			t.Fatalf("%s is missing (libpdfbox2-java, libactivation-java, libjaxb-api-java): run scripts/install-deps.sh test", jar)
		}
	}
	out, err := exec.Command("java", "-cp", strings.Join(preflightClasspath, ":"), "org.apache.pdfbox.preflight.Validator_A1b", path).CombinedOutput()
	text := string(out)
	// Preflight exits 255 for a file it finds invalid.
	switch {
	case err != nil && !strings.Contains(text, "is not a valid PDF/A-1b file"):
		t.Fatalf("PDFBox Preflight: %v\n%s", err, text)
	case strings.Contains(text, "is a valid PDF/A-1b file"):
		return nil
	case !strings.Contains(text, "is not a valid PDF/A-1b file"):
		t.Fatalf("PDFBox Preflight says neither valid nor invalid:\n%s", text)
	}
	var errs []string
	for _, line := range strings.Split(text, "\n") {
		if regexp.MustCompile(`^\d+(\.\d+)* : `).MatchString(line) {
			errs = append(errs, strings.TrimSpace(line))
		}
	}
	slices.Sort(errs)
	return slices.Compact(errs)
}

var padestestPdfsig = padestestPdfsigFunc

func padestestPdfsigFunc(t *testing.T, path, ca string) ([]bool, []bool, string) {
	return padestest.Pdfsig(t, path, ca)
}
