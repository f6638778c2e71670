package padestest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// Verdict is one validator's view of one signature or document
// time-stamp.
type Verdict struct {
	// Valid is the validator's conclusion; Status and Reason its words.
	Valid          bool
	Status, Reason string
	// TimeStamp tells a document time-stamp.
	TimeStamp bool
	Problems  []string
}

// PDFCPU validates every signature of the PDF at path with pdfcpu, with
// the PEM files anchors as its certificate store. With network false,
// revocation must come from the document (pdfcpu may not fetch); with
// true it may fetch from loopback.
func PDFCPU(t testing.TB, path string, network bool, anchors ...string) ([]Verdict, string) {
	t.Helper()
	dir := t.TempDir()
	for i, p := range anchors {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "anchor-"+string(rune('a'+i))+".pem"), data, 0o600)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pdfcpuMu.Lock()
	defer pdfcpuMu.Unlock()
	model.TrustedCertDir = dir
	pdfcpu.InvalidateCertificatePool()
	conf := model.NewDefaultConfiguration()
	conf.Offline = !network
	if network {
		conf.AllowedRevocationHosts = []string{"127.0.0.1"}
	}
	results, err := api.ValidateSignaturesRaw(f, true, conf)
	if err != nil {
		t.Fatalf("pdfcpu signature validation of %s: %v", path, err)
	}
	var out []Verdict
	var report strings.Builder
	for _, r := range results {
		v := Verdict{Valid: r.Status == model.SignatureStatusValid, Status: r.Status.String(), Reason: r.Reason.String(),
			TimeStamp: r.Type == model.SigTypeDTS, Problems: r.Problems}
		for _, s := range r.Details.Signers {
			v.Problems = append(v.Problems, s.Problems...)
		}
		out = append(out, v)
		report.WriteString(r.String() + "\n")
	}
	return out, report.String()
}

// Pdfsig runs poppler's pdfsig with an NSS database that trusts anchors,
// without OCSP, and returns per signature whether the signature value is
// valid and whether the certificate is trusted, with its report.
func Pdfsig(t testing.TB, path string, anchors ...string) (valid, trusted []bool, out string) {
	t.Helper()
	need(t, "pdfsig")
	need(t, "certutil")
	db := t.TempDir()
	if o, err := exec.Command("certutil", "-N", "-d", "sql:"+db, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v\n%s", err, o)
	}
	for i, a := range anchors {
		if o, err := exec.Command("certutil", "-A", "-d", "sql:"+db, "-n", "anchor"+string(rune('a'+i)), "-t", "CT,C,C", "-i", a).CombinedOutput(); err != nil {
			t.Fatalf("certutil -A %s: %v\n%s", a, err, o)
		}
	}
	b, err := exec.Command("pdfsig", "-nssdir", "sql:"+db, "-no-ocsp", path).CombinedOutput()
	out = string(b)
	if err != nil && !strings.Contains(out, "Signature #") {
		t.Fatalf("pdfsig %s: %v\n%s", path, err, out)
	}
	for _, blk := range sigHeader.Split(out, -1)[1:] {
		valid = append(valid, strings.Contains(blk, "Signature Validation: Signature is Valid."))
		trusted = append(trusted, strings.Contains(blk, "Certificate Validation: Certificate is Trusted."))
	}
	return valid, trusted, out
}
