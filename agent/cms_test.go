package agent_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digitorus/pkcs7"

	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/tsa/tsatest"
)

// opensslCMS verifies a detached CMS over content against the test CA and
// returns what `openssl cms -cmsout -print` shows of it.
func opensslCMS(t *testing.T, h *harness, der, content []byte) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed: run scripts/install-deps.sh")
	}
	dir := t.TempDir()
	sig, doc := filepath.Join(dir, "sig.p7s"), filepath.Join(dir, "doc")
	os.WriteFile(sig, der, 0o600)
	os.WriteFile(doc, content, 0o600)
	out, err := exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig,
		"-content", doc, "-CAfile", h.caFile, "-out", os.DevNull).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification successful") {
		return "", fmt.Errorf("openssl cms -verify: %v: %s", err, out)
	}
	printed, err := exec.Command("openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", sig).CombinedOutput()
	return string(printed), err
}

func TestSignCMS(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	small := []byte("%PDF-1.7\nSurat undangan rapat koordinasi\n")
	big := []byte(strings.Repeat("Nota dinas tentang anggaran. ", 300)) // spooled to disk
	tests := []struct {
		name   string
		key    []byte
		hash   protocol.HashAlgorithm
		sigAlg protocol.SignatureAlgorithm
		want   string
	}{
		{"RSA PKCS1 SHA-256", rsaID, "", "", "rsaEncryption"},
		{"RSA-PSS SHA-384", rsaID, protocol.SHA384, protocol.RSAPSS, "rsassaPss"},
		{"P-256 SHA-256", p256ID, protocol.SHA256, "", "ecdsa-with-SHA256"},
		{"P-256 SHA-512", p256ID, protocol.SHA512, protocol.ECDSA, "ecdsa-with-SHA512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := c.upload("undangan.pdf", small, 7)
			b := c.upload("nota-dinas.pdf", big, 1000)
			hash := tt.hash
			if hash == "" {
				hash = protocol.SHA256
			}
			digestItem := digestOf(hash.Hash(), "isi lampiran")
			params := map[string]any{"certificateId": h.certID(tt.key), "items": []any{
				map[string]any{"uploadId": a}, map[string]any{"uploadId": b},
				map[string]any{"name": "lampiran.xlsx", "digest": digestItem},
			}}
			if tt.hash != "" {
				params["hashAlgorithm"] = tt.hash
			}
			if tt.sigAlg != "" {
				params["signatureAlgorithm"] = tt.sigAlg
			}
			res := mustCall[protocol.SignCMSResult](c, "sign.cms", params)
			if len(res.Items) != 3 || res.Items[0].Name != "undangan.pdf" || res.Items[1].Name != "nota-dinas.pdf" || res.Items[2].Name != "lampiran.xlsx" {
				t.Fatalf("items %+v", res.Items)
			}
			for i, doc := range [][]byte{small, big} {
				printed, err := opensslCMS(t, h, res.Items[i].CMS, doc)
				if err != nil {
					t.Fatalf("item %d: %v", i, err)
				}
				for _, w := range []string{"contentType", "messageDigest", "signingTime", "id-smime-aa-signingCertificateV2", tt.want, "eContent: <ABSENT>"} {
					if !strings.Contains(printed, w) {
						t.Errorf("item %d lacks %q", i, w)
					}
				}
				if n := strings.Count(printed, "cert_info:"); n != 2 {
					t.Errorf("item %d carries %d certificates, want the signer's and the CA's", i, n)
				}
			}
			// The digest item's CMS verifies against the digest's content.
			if _, err := opensslCMS(t, h, res.Items[2].CMS, []byte("isi lampiran")); err != nil {
				t.Errorf("digest item: %v", err)
			}
			// A signature on one document must not verify another.
			if _, err := opensslCMS(t, h, res.Items[0].CMS, big); err == nil {
				t.Error("the first document's signature verified the second")
			}
			if f := h.waitFiles(0); len(f) != 0 {
				t.Errorf("after sign.cms the spool holds %v", f)
			}
		})
	}
	if n := len(h.fake.Shown(t)); n != len(tests) {
		t.Errorf("%d dialogs for %d requests", n, len(tests))
	}
	d := h.fake.Shown(t)[0].Desc
	for _, w := range []string{"Dokumen yang ditandatangani: 2", "Nilai hash yang ditandatangani: 1 (SHA-256)", "undangan.pdf", "nota-dinas.pdf", "lampiran.xlsx"} {
		if !strings.Contains(d, w) {
			t.Errorf("dialog lacks %q:\n%s", w, d)
		}
	}
}

func TestSignCMSRefusals(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	docs := h.dial(docsOrigin)
	d := sha256.Sum256([]byte("x"))
	digestItem := map[string]any{"name": "x", "digest": d[:]}
	_, perr := docs.call("sign.cms", map[string]any{"certificateId": h.certID(rsaID), "items": []any{digestItem}})
	wantError(t, perr, protocol.ReasonNotPermitted)
	_, perr = c.call("sign.cms", map[string]any{"certificateId": h.certID(rsaID), "level": "B-T", "items": []any{digestItem}})
	wantError(t, perr, protocol.ReasonBadRequest) // no TSA configured
	_, perr = c.call("sign.cms", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"uploadId": 42}}})
	wantError(t, perr, protocol.ReasonBadRequest)
	id := c.upload("a.pdf", []byte("abc"), 3)
	_, perr = c.call("sign.cms", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"uploadId": id, "name": "b"}}})
	wantError(t, perr, protocol.ReasonBadRequest)
	// A refused request consumes the uploads it names too.
	_, perr = c.call("document.discard", map[string]any{"uploadId": id})
	wantError(t, perr, protocol.ReasonBadRequest)
	// Cancelled at the dialog: the upload is consumed and gone.
	id = c.upload("b.pdf", []byte("abc"), 3)
	h.fake.Set(t, pinentrytest.Behaviour{Action: "cancel"})
	_, perr = c.call("sign.cms", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"uploadId": id}}})
	wantError(t, perr, protocol.ReasonUserCancelled)
	_, perr = c.call("document.discard", map[string]any{"uploadId": id})
	wantError(t, perr, protocol.ReasonBadRequest)
}

// TestSignCMSTimestamp: B-T adds an RFC 3161 token over the signature value
// that openssl ts -verify accepts; a TSA that answers badly fails the
// request with upstream_failed.
func TestSignCMSTimestamp(t *testing.T) {
	tsaSrv := tsatest.Start(t)
	h := newHarness(t, harnessOpts{tsaURL: tsaSrv.URL})
	c := h.dial(testOrigin)
	doc := []byte("Surat tugas nomor 090/17")
	id := c.upload("surat-tugas.pdf", doc, 100)
	res := mustCall[protocol.SignCMSResult](c, "sign.cms", map[string]any{"certificateId": h.certID(p256ID), "level": "B-T",
		"hashAlgorithm": "SHA-384", "items": []any{map[string]any{"uploadId": id}}})
	printed, err := opensslCMS(t, h, res.Items[0].CMS, doc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(printed, "id-smime-aa-timeStampToken") {
		t.Errorf("no time-stamp attribute:\n%s", printed)
	}
	p7, err := pkcs7.Parse(res.Items[0].CMS)
	if err != nil {
		t.Fatal(err)
	}
	var token []byte
	for _, a := range p7.Signers[0].UnauthenticatedAttributes {
		if a.Type.Equal(cms.OIDAttrTimeStampToken) {
			token = a.Value.Bytes
		}
	}
	if token == nil {
		t.Fatal("no time-stamp token in the unsigned attributes")
	}
	imprint := sha512.Sum384(p7.Signers[0].EncryptedDigest)
	dir := t.TempDir()
	tf := filepath.Join(dir, "token.der")
	os.WriteFile(tf, token, 0o600)
	out, err := exec.Command("openssl", "ts", "-verify", "-token_in", "-in", tf, "-digest", hex.EncodeToString(imprint[:]),
		"-CAfile", tsaSrv.CAFile, "-untrusted", tsaSrv.CertFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}

	for _, f := range []tsatest.Fault{tsatest.WrongDigest, tsatest.WrongNonce, tsatest.Refuse} {
		tsaSrv.SetFault(f)
		id := c.upload("x.pdf", doc, 100)
		_, perr := c.call("sign.cms", map[string]any{"certificateId": h.certID(p256ID), "level": "B-T", "items": []any{map[string]any{"uploadId": id}}})
		wantError(t, perr, protocol.ReasonUpstreamFailed)
		if perr.Data.Completed == nil || *perr.Data.Completed != 0 {
			t.Errorf("%s: completed = %v, want 0", f, perr.Data.Completed)
		}
	}
	if f := h.waitFiles(0); len(f) != 0 {
		t.Errorf("spool holds %v after failed time-stamps", f)
	}
}
