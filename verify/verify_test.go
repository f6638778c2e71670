package verify_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/revocation"
	"github.com/tte-agent/tte-agent/revocation/revtest"
	"github.com/tte-agent/tte-agent/token/softhsm"
	"github.com/tte-agent/tte-agent/trust"
	"github.com/tte-agent/tte-agent/verify"
)

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run scripts/install-deps.sh", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// signer is a software key with a certificate from the test PKI, in PEM
// files and in an NSS database (nickname "Penandatangan Lain").
type signer struct {
	dir, cert, key, db string
	c                  *x509.Certificate
}

func newSigner(t *testing.T, p *revtest.PKI) *signer {
	t.Helper()
	need(t, "openssl", "certutil", "pk12util")
	// poppler 22.12 signs with RSA keys only ("unable update signature"
	// with an EC key).
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	c, err := p.CA().Issue(key.Public(), softhsm.KeySpec{Subject: pkix.Name{CommonName: "Penandatangan Lain"}})
	if err != nil {
		t.Fatal(err)
	}
	s := &signer{dir: t.TempDir(), c: c}
	s.cert, s.key, s.db = filepath.Join(s.dir, "cert.pem"), filepath.Join(s.dir, "key.pem"), filepath.Join(s.dir, "nss")
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(s.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(s.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600)
	p12 := filepath.Join(s.dir, "id.p12")
	run(t, "openssl", "pkcs12", "-export", "-in", s.cert, "-inkey", s.key, "-name", "Penandatangan Lain", "-passout", "pass:", "-out", p12)
	os.Mkdir(s.db, 0o700)
	run(t, "certutil", "-N", "-d", "sql:"+s.db, "--empty-password")
	run(t, "pk12util", "-i", p12, "-d", "sql:"+s.db, "-W", "")
	return s
}

func options(t *testing.T, p *revtest.PKI, online bool) verify.Options {
	t.Helper()
	anchors, err := trust.Load([]string{p.RootFile})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: testscale.D(5 * time.Second)}
	if !online {
		return verify.Options{Trust: trust.NewStore(anchors, nil, nil)}
	}
	return verify.Options{Trust: trust.NewStore(anchors, nil, client), Online: revocation.NewChecker(client)}
}

func verifyPDF(t *testing.T, path string, o verify.Options) *verify.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	return verify.PDF(context.Background(), path, f, st.Size(), o)
}

func text(r *verify.Report) string {
	var b strings.Builder
	verify.WriteText(&b, []*verify.Report{r}, "en")
	return b.String()
}

// Documents signed by poppler's pdfsig (adbe.pkcs7.detached: Debian 12's
// pdfsig cannot add ETSI.CAdES.detached signatures) are verified; changed
// later, they are not.
func TestPDFsSignedByPdfsig(t *testing.T) {
	need(t, "pdfsig")
	p, err := revtest.Start(t.TempDir(), revtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s := newSigner(t, p)
	in := filepath.Join("..", "pades", "testdata", "qpdf-objstm.pdf")
	for _, etsi := range []bool{false} {
		t.Run(fmt.Sprintf("etsi=%v", etsi), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "signed.pdf")
			args := []string{"-add-signature", "-nssdir", "sql:" + s.db, "-nick", "Penandatangan Lain", "-reason", "Menyetujui"}
			if etsi {
				args = append(args, "-etsi")
			}
			run(t, "pdfsig", append(args, in, out)...)
			rep := verifyPDF(t, out, options(t, p, true))
			if !rep.Valid || rep.Signatures[0].Signer != "Penandatangan Lain" || rep.Signatures[0].Level != "B-B" || rep.Signatures[0].RevocationSource != "online" {
				t.Errorf("online:\n%s", text(rep))
			}
			// Offline, nothing in the file says the certificate was not
			// revoked: not valid, but intact.
			rep = verifyPDF(t, out, options(t, p, false))
			if rep.Valid || !rep.Signatures[0].Integrity.OK || rep.Signatures[0].Chain.OK {
				t.Errorf("offline (no intermediate, no revocation data):\n%s", text(rep))
			}
			// A byte changed inside the signed range.
			data, _ := os.ReadFile(out)
			bad := append([]byte{}, data...)
			bad[300] ^= 1
			tampered := filepath.Join(t.TempDir(), "tampered.pdf")
			os.WriteFile(tampered, bad, 0o600)
			rep = verifyPDF(t, tampered, options(t, p, true))
			if rep.Valid || rep.Signatures[0].Integrity.OK {
				t.Errorf("tampered:\n%s", text(rep))
			}
			// A page's content replaced in a later incremental update: the
			// signature is intact but the document is changed.
			changed := filepath.Join(t.TempDir(), "changed.pdf")
			os.WriteFile(changed, appendContentChange(t, out), 0o600)
			rep = verifyPDF(t, changed, options(t, p, true))
			if rep.Valid || !rep.Signatures[0].Integrity.OK || rep.Signatures[0].Unchanged.OK || !strings.Contains(rep.Signatures[0].Unchanged.Detail, "page 1's content changed") {
				t.Errorf("changed after signing:\n%s", text(rep))
			}
		})
	}
}

// appendContentChange returns the PDF at path with an incremental update
// that replaces page 1's content.
func appendContentChange(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := api.ReadContextFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page, ref, _, err := ctx.PageDict(1, false)
	if err != nil || ref == nil {
		t.Fatalf("page 1: %v", err)
	}
	size := *ctx.Size
	content := "BT /F1 24 Tf 72 700 Td (DIUBAH) Tj ET"
	var b strings.Builder
	start := len(data)
	if data[len(data)-1] != '\n' {
		b.WriteString("\n")
	}
	off1 := start + b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<</Length %d>>stream\n%s\nendstream\nendobj\n", size, len(content), content)
	p := page.Clone().(types.Dict)
	p["Contents"] = *types.NewIndirectRef(size, 0)
	off2 := start + b.Len()
	fmt.Fprintf(&b, "%d %d obj\n%s\nendobj\n", ref.ObjectNumber.Value(), ref.GenerationNumber.Value(), p.PDFString())
	xref := start + b.Len()
	fmt.Fprintf(&b, "xref\n%d 1\n%010d %05d n\r\n%d 1\n%010d 00000 n\r\n", ref.ObjectNumber.Value(), off2, ref.GenerationNumber.Value(), size, off1)
	fmt.Fprintf(&b, "trailer\n<</Size %d/Root %s/Prev %d>>\nstartxref\n%d\n%%%%EOF\n", size+1, ctx.Root.PDFString(), lastXref(t, data), xref)
	return append(data, b.String()...)
}

func lastXref(t *testing.T, data []byte) int {
	t.Helper()
	i := strings.LastIndex(string(data), "startxref")
	var n int
	if _, err := fmt.Sscan(strings.Fields(string(data[i+len("startxref"):]))[0], &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// CMS signatures made by openssl, detached and encapsulated, verify; a
// changed content does not.
func TestCMSSignedByOpenSSL(t *testing.T) {
	p, err := revtest.Start(t.TempDir(), revtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s := newSigner(t, p)
	content := []byte("Nota Dinas Nomor 7 Tahun 2026\n")
	in := filepath.Join(s.dir, "nota.txt")
	os.WriteFile(in, content, 0o600)
	for _, detached := range []bool{true, false} {
		out := filepath.Join(s.dir, fmt.Sprintf("nota-%v.p7s", detached))
		args := []string{"cms", "-sign", "-binary", "-in", in, "-signer", s.cert, "-inkey", s.key, "-outform", "DER", "-out", out, "-md", "sha256"}
		if !detached {
			args = append(args, "-nodetach")
		}
		run(t, "openssl", args...)
		der, _ := os.ReadFile(out)
		var r *strings.Reader
		if detached {
			r = strings.NewReader(string(content))
		}
		rep := verify.CMS(context.Background(), out, der, readerOrNil(r), options(t, p, true))
		if !rep.Valid || rep.Signatures[0].Level != "B-B" {
			t.Errorf("detached=%v:\n%s", detached, text(rep))
		}
		if detached {
			rep = verify.CMS(context.Background(), out, der, strings.NewReader("Nota Dinas Nomor 8 Tahun 2026\n"), options(t, p, true))
			if rep.Valid || rep.Signatures[0].Integrity.OK {
				t.Errorf("changed content:\n%s", text(rep))
			}
		}
	}
}

func readerOrNil(r *strings.Reader) interface{ Read([]byte) (int, error) } {
	if r == nil {
		return nil
	}
	return r
}
