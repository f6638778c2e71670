package agent_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/pades/padestest"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/revocation/revtest"
	"github.com/tte-agent/tte-agent/trust"
	"github.com/tte-agent/tte-agent/tsa/tsatest"
	"github.com/tte-agent/tte-agent/verify"
)

func startPKI(t *testing.T, o revtest.Options) *revtest.PKI {
	t.Helper()
	p, err := revtest.Start(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// archiveHarness is an agent whose token certificates come from pki, with
// pki's root and the TSA's CA as trust anchors.
func archiveHarness(t *testing.T, pki *revtest.PKI, tsaSrv *tsatest.Server, mode string) *harness {
	t.Helper()
	return newHarness(t, harnessOpts{pki: pki, tsaURL: tsaSrv.URL, extra: fmt.Sprintf(`[trust]
anchors = [%q, %q]
[revocation]
mode = %q
`, pki.RootFile, tsaSrv.CAFile, mode)})
}

// verifyOffline runs the verifier as `tte-agent verify` does by default:
// anchors only, no network.
func verifyOffline(t *testing.T, path string, anchors ...string) *verify.Report {
	t.Helper()
	certs, err := trust.Load(anchors)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	return verify.PDF(context.Background(), path, f, st.Size(), verify.Options{Trust: trust.NewStore(certs, nil, nil)})
}

func reportText(r *verify.Report) string {
	var b strings.Builder
	verify.WriteText(&b, []*verify.Report{r}, "en")
	return b.String()
}

// openssl runs openssl and returns its output; a missing openssl fails.
func openssl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed: run scripts/install-deps.sh")
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err
}

// checkWithOpenSSL has openssl accept every OCSP answer and CRL in the DSS
// against the embedded chain and the anchors, and openssl ts accept every
// document time-stamp.
func checkWithOpenSSL(t *testing.T, path string, anchors ...string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := pades.Inspect(context.Background(), bytesReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var chain []byte
	for _, c := range ins.DSS.Certs {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	var ca []byte
	for _, a := range anchors {
		b, _ := os.ReadFile(a)
		ca = append(ca, b...)
	}
	os.WriteFile(filepath.Join(dir, "chain.pem"), chain, 0o600)
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600)
	if len(ins.DSS.OCSPs)+len(ins.DSS.CRLs) == 0 {
		t.Errorf("%s: the DSS holds no revocation data", path)
	}
	os.WriteFile(filepath.Join(dir, "all.pem"), append(append([]byte{}, ca...), chain...), 0o600)
	for i, c := range ins.DSS.CRLs {
		f := filepath.Join(dir, fmt.Sprintf("crl-%d.der", i))
		os.WriteFile(f, c, 0o600)
		out, err := openssl(t, "crl", "-inform", "DER", "-in", f, "-CAfile", filepath.Join(dir, "all.pem"), "-noout")
		if err != nil || !strings.Contains(out, "verify OK") {
			t.Errorf("openssl crl does not accept DSS CRL %d: %v\n%s", i, err, out)
		}
	}
	for i, o := range ins.DSS.OCSPs {
		f := filepath.Join(dir, fmt.Sprintf("ocsp-%d.der", i))
		os.WriteFile(f, o, 0o600)
		out, err := openssl(t, "ocsp", "-respin", f, "-CAfile", filepath.Join(dir, "ca.pem"), "-verify_other", filepath.Join(dir, "chain.pem"), "-no_nonce")
		if err != nil || !strings.Contains(out, "Response verify OK") {
			t.Errorf("openssl ocsp does not accept DSS OCSP answer %d: %v\n%s", i, err, out)
		}
	}
	for _, fld := range ins.Fields {
		if !fld.DocTimeStamp {
			continue
		}
		d := crypto.SHA256.New()
		d.Write(data[fld.ByteRange[0] : fld.ByteRange[0]+fld.ByteRange[1]])
		d.Write(data[fld.ByteRange[2] : fld.ByteRange[2]+fld.ByteRange[3]])
		tok := filepath.Join(dir, "dts.der")
		os.WriteFile(tok, fld.Contents, 0o600)
		out, err := openssl(t, "ts", "-verify", "-token_in", "-in", tok, "-digest", hex.EncodeToString(d.Sum(nil)),
			"-CAfile", filepath.Join(dir, "ca.pem"), "-untrusted", filepath.Join(dir, "chain.pem"))
		if err != nil || !strings.Contains(out, "Verification: OK") {
			t.Errorf("openssl ts does not accept the document time-stamp: %v\n%s", err, out)
		}
	}
}

type bytesReader []byte

func (b bytesReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, fmt.Errorf("EOF")
	}
	n := copy(p, b[off:])
	return n, nil
}

func TestSignPDFLongTerm(t *testing.T) {
	pki := startPKI(t, revtest.Options{})
	tsaSrv := tsatest.Start(t)
	h := archiveHarness(t, pki, tsaSrv, "require")
	anchors := []string{pki.RootFile, tsaSrv.CAFile}
	c := h.dial(testOrigin)
	if l := mustCall[protocol.AgentInfo](c, "agent.info", nil).Levels; !slices.Equal(l, []protocol.Level{"B-B", "B-T", "B-LT", "B-LTA"}) {
		t.Errorf("agent.info levels with a TSA: %v", l)
	}

	names := []string{"go-minimal.pdf", "qpdf-objstm.pdf", "cairo.pdf"}
	originals := map[string][]byte{}
	var items []any
	for _, n := range names {
		originals[n] = corpusFile(t, n)
		items = append(items, map[string]any{"uploadId": c.upload(n, originals[n], 3000)})
	}
	res := mustCall[protocol.SignPDFResult](c, "sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "level": "B-LT", "items": items})
	if res.Revocation == nil || res.Revocation.Status != "good" || res.Revocation.Source != "ocsp" {
		t.Errorf("revocation in the result: %+v", res.Revocation)
	}
	if n := pki.Hits("/ocsp"); n != 1 {
		t.Errorf("%d OCSP requests for a batch of %d, want 1", n, len(names))
	}
	for _, it := range res.Items {
		if it.Level != protocol.LevelBLT {
			t.Errorf("%s: level %s", it.Name, it.Level)
		}
		path, _ := writeSigned(t, originals[it.Name], it)
		rep := verifyOffline(t, path, anchors...)
		if !rep.Valid || rep.Signatures[0].Level != "B-LT" {
			t.Errorf("%s: our verifier:\n%s", it.Name, reportText(rep))
		}
		valid, trusted, out := padestest.Pdfsig(t, path, anchors...)
		if len(valid) != 1 || !valid[0] || !trusted[0] {
			t.Errorf("%s: pdfsig: valid %v trusted %v\n%s", it.Name, valid, trusted, out)
		}
		checkWithOpenSSL(t, path, anchors...)
		if vs, rep := padestest.PDFCPU(t, path, true, anchors...); len(vs) != 1 || !vs[0].Valid {
			t.Errorf("%s: pdfcpu (revocation from loopback allowed): %+v\n%s", it.Name, vs, rep)
		}
		if vs, rep := padestest.PDFCPU(t, path, false, anchors...); len(vs) != 1 || vs[0].Reason != "signer's certificate revocation status is unknown" {
			t.Errorf("%s: pdfcpu offline: %+v\n%s", it.Name, vs, rep)
		}
	}

	// B-LTA: a document time-stamp over the whole file, the OCSP answer
	// still from the cache.
	orig := originals["qpdf-objstm.pdf"]
	id := c.upload("lta.pdf", orig, 3000)
	res = mustCall[protocol.SignPDFResult](c, "sign.pdf", map[string]any{"certificateId": h.certID(p256ID), "level": "B-LTA", "vri": true,
		"items": []any{map[string]any{"uploadId": id}}})
	path, signed := writeSigned(t, orig, res.Items[0])
	rep := verifyOffline(t, path, anchors...)
	if !rep.Valid || len(rep.Signatures) != 2 || rep.Signatures[0].Level != "B-LTA" || rep.Signatures[1].Kind != verify.KindDocTimestamp {
		t.Errorf("B-LTA: our verifier:\n%s", reportText(rep))
	}
	ins, err := pades.Inspect(context.Background(), bytesReader(signed), int64(len(signed)))
	if err != nil || len(ins.Fields) != 2 || !ins.Fields[1].DocTimeStamp || ins.Fields[1].SignedEnd() != int64(len(signed)) {
		t.Fatalf("B-LTA structure: %+v %v", ins, err)
	}
	if !strings.Contains(string(signed), "/VRI<</"+pades.VRIKey(ins.Fields[0].Contents)) {
		t.Errorf("vri: true wrote no /VRI entry for the signature")
	}
	valid, trusted, out := padestest.Pdfsig(t, path, anchors...)
	if len(valid) != 2 || !valid[0] || !trusted[0] || !strings.Contains(out, "Total document signed") {
		t.Errorf("B-LTA: pdfsig: valid %v trusted %v\n%s", valid, trusted, out)
	}
	checkWithOpenSSL(t, path, anchors...)
	if n := pki.Hits("/ocsp"); n != 2 {
		t.Errorf("%d OCSP requests after two certificates were checked, want 2", n)
	}
	if len(h.fake.Shown(t)) != 2 {
		t.Errorf("%d dialogs for two requests", len(h.fake.Shown(t)))
	}
	_ = x509.ParseCertificate
}

// sign.cms at B-LT: certificate-values and revocation-values beside the
// signature time-stamp; openssl cms and openssl ts accept it, and so does
// the verifier offline.
func TestSignCMSLongTerm(t *testing.T) {
	pki := startPKI(t, revtest.Options{Delegated: true})
	tsaSrv := tsatest.Start(t)
	h := archiveHarness(t, pki, tsaSrv, "require")
	c := h.dial(testOrigin)
	content := []byte("Nota Dinas Nomor 12 Tahun 2026\n")
	id := c.upload("nota.txt", content, 3000)
	res := mustCall[protocol.SignCMSResult](c, "sign.cms", map[string]any{"certificateId": h.certID(rsaID), "level": "B-LT", "items": []any{map[string]any{"uploadId": id}}})
	it := res.Items[0]
	if it.Level != protocol.LevelBLT {
		t.Fatalf("level %s", it.Level)
	}
	dir := t.TempDir()
	sig, data := filepath.Join(dir, "nota.txt.p7s"), filepath.Join(dir, "nota.txt")
	os.WriteFile(sig, it.CMS, 0o600)
	os.WriteFile(data, content, 0o600)
	var ca []byte
	for _, a := range []string{pki.RootFile, tsaSrv.CAFile} {
		b, _ := os.ReadFile(a)
		ca = append(ca, b...)
	}
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca, 0o600)
	if out, err := openssl(t, "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", data, "-CAfile", caFile, "-purpose", "any", "-out", "/dev/null"); err != nil {
		t.Errorf("openssl cms -verify: %v\n%s", err, out)
	}
	p, err := cmsParse(it.CMS)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Signers[0]
	if len(s.CertValues) < 3 || len(s.OCSPValues) == 0 || s.TimeStampToken == nil {
		t.Fatalf("CAdES-LT attributes: %d certificates, %d OCSP, %d CRL, time-stamp %v", len(s.CertValues), len(s.OCSPValues), len(s.CRLValues), s.TimeStampToken != nil)
	}
	d := crypto.SHA256.New()
	d.Write(s.Signature)
	tok := filepath.Join(dir, "tst.der")
	os.WriteFile(tok, s.TimeStampToken, 0o600)
	if out, err := openssl(t, "ts", "-verify", "-token_in", "-in", tok, "-digest", hex.EncodeToString(d.Sum(nil)), "-CAfile", caFile); err != nil || !strings.Contains(out, "Verification: OK") {
		t.Errorf("openssl ts -verify: %v\n%s", err, out)
	}
	certs, _ := trust.Load([]string{pki.RootFile, tsaSrv.CAFile})
	f, _ := os.Open(data)
	defer f.Close()
	rep := verify.CMS(context.Background(), sig, it.CMS, f, verify.Options{Trust: trust.NewStore(certs, nil, nil)})
	if !rep.Valid || rep.Signatures[0].Level != "B-LT" {
		t.Errorf("verifier:\n%s", reportText(rep))
	}
	// B-LTA is refused for CMS, with the reason.
	_, e := c.call("sign.cms", map[string]any{"certificateId": h.certID(rsaID), "level": "B-LTA", "items": []any{map[string]any{"uploadId": c.upload("n.txt", content, 3000)}}})
	wantError(t, e, protocol.ReasonBadRequest)
}

var cmsParse = cms.Parse
