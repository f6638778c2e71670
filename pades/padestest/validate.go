// Package padestest checks signed PDFs with independent validators for
// tests: poppler's pdfsig, pdfcpu's signature validation and qpdf --check.
// Each must be installed (scripts/install-deps.sh); a missing tool fails
// the test.
package padestest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

func init() { api.DisableConfigDir() }

// Result is what the validators said of one file.
type Result struct {
	// PdfsigValid has one entry per signature, in file order.
	PdfsigValid []bool
	// PdfsigTotal is whether pdfsig says the last signature covers the
	// whole document.
	PdfsigTotal bool
	// PAdES is pdfcpu's baseline conclusion per signature ("B-B" or "").
	PAdES []string
	// Timestamped is pdfcpu's view of a signature time-stamp per
	// signature.
	Timestamped []bool
	// Output keeps pdfsig's report for failure messages.
	Output string
}

func need(t testing.TB, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s is not installed: run scripts/install-deps.sh", tool)
	}
}

var sigHeader = regexp.MustCompile(`(?m)^Signature #\d+:`)

// pdfcpuMu guards pdfcpu's global trust directory.
var pdfcpuMu sync.Mutex

// Check runs the three validators on the PDF at path, with the PEM
// certificates in trusted as pdfcpu's trust anchors. It fails the test if
// qpdf --check fails or a tool cannot run; the signature verdicts are
// returned for the caller to assert.
func Check(t testing.TB, path string, trusted ...string) Result {
	t.Helper()
	return check(t, path, true, trusted)
}

// CheckLike is Check for a document signed from original, asking pdfcpu
// only when pdfcpu reads the original: it refuses some valid inputs (PDF
// 2.0 associated files, JavaScript in a PDF 1.1 file, a %PDF-1.8
// header), signed or not.
func CheckLike(t testing.TB, original, path string, trusted ...string) Result {
	t.Helper()
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	return check(t, path, api.ValidateFile(original, conf) == nil, trusted)
}

func check(t testing.TB, path string, withPDFCPU bool, trusted []string) Result {
	t.Helper()
	need(t, "pdfsig")
	need(t, "qpdf")
	var r Result
	// pdfsig exits 0 even on a digest mismatch: its output is what counts.
	out, err := exec.Command("pdfsig", "-nocert", "-no-ocsp", path).CombinedOutput()
	r.Output = string(out)
	if err != nil && !bytes.Contains(out, []byte("Signature #")) {
		t.Fatalf("pdfsig %s: %v\n%s", path, err, out)
	}
	blocks := sigHeader.Split(r.Output, -1)
	for i, b := range blocks[1:] {
		r.PdfsigValid = append(r.PdfsigValid, strings.Contains(b, "Signature Validation: Signature is Valid."))
		if i == len(blocks)-2 {
			r.PdfsigTotal = strings.Contains(b, "Total document signed")
		}
	}
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check %s: %v\n%s", path, err, out)
	}
	if !withPDFCPU {
		return r
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	for i, p := range trusted {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("trusted-%d.pem", i)), data, 0o600)
	}
	pdfcpuMu.Lock()
	model.TrustedCertDir = dir
	pdfcpu.InvalidateCertificatePool()
	conf := model.NewDefaultConfiguration()
	conf.AllowedRevocationHosts = []string{"127.0.0.1"} // CRLServer
	results, err := api.ValidateSignaturesRaw(f, true, conf)
	pdfcpuMu.Unlock()
	if err != nil {
		t.Fatalf("pdfcpu signature validation of %s: %v", path, err)
	}
	r.Output += fmt.Sprintf("\npdfcpu: %d results\n", len(results))
	for _, res := range results {
		r.Output += res.String() + "\n" + strings.Join(res.Problems, "\n") + "\n"
		level, ts := "", false
		for _, s := range res.Details.Signers {
			level = s.PAdES
			ts = ts || s.HasTimestamp
		}
		r.PAdES = append(r.PAdES, level)
		r.Timestamped = append(r.Timestamped, ts)
	}
	return r
}

// String summarises a result for failure messages.
func (r Result) String() string {
	return fmt.Sprintf("pdfsig valid %v total %v; pdfcpu PAdES %v timestamped %v\n%s", r.PdfsigValid, r.PdfsigTotal, r.PAdES, r.Timestamped, r.Output)
}

// CRLServer serves an empty, fresh CRL signed by the CA on loopback until
// the test ends, and returns its URL for certificates' CRL distribution
// points: validators such as pdfcpu conclude "valid" only with revocation
// evidence.
func CRLServer(t testing.TB, ca *x509.Certificate, key crypto.Signer) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		}, ca, key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(crl)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/ca.crl"
}
