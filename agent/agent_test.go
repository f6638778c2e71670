package agent_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tte-agent/tte-agent/protocol"
)

func TestInfoAndLists(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)

	info := mustCall[protocol.AgentInfo](c, "agent.info", nil)
	if info.Name != "tte-agent" || info.Protocol != 1 || info.Origin != testOrigin ||
		!slices.Equal(info.Allow, []protocol.Capability{"documents", "digest"}) || info.Limits.Items != 1000 ||
		info.Limits.TextFrameBytes != 1<<20 {
		t.Errorf("agent.info = %+v", info)
	}
	if d := mustCall[protocol.AgentInfo](h.dial(docsOrigin), "agent.info", nil); !slices.Equal(d.Allow, []protocol.Capability{"documents"}) {
		t.Errorf("agent.info for the documents-only origin allows %v", d.Allow)
	}
	// Without a TSA only B-B can be made (with one: TestSignPDFLongTerm).
	if !slices.Equal(info.Levels, []protocol.Level{"B-B"}) {
		t.Errorf("levels without a TSA: %v", info.Levels)
	}

	toks := mustCall[protocol.TokensList](c, "tokens.list", nil).Tokens
	if len(toks) != 1 {
		t.Fatalf("tokens.list gave %d tokens", len(toks))
	}
	tok := toks[0]
	if tok.ID != h.serial || tok.Serial != h.serial || tok.Label != "ASN Test" || tok.PINStatus != "ok" ||
		tok.Model != "SoftHSM v2" || tok.Manufacturer != "SoftHSM project" || tok.ProtectedAuthPath {
		t.Errorf("token = %+v", tok)
	}

	certs := mustCall[protocol.CertificatesList](c, "certificates.list", nil).Certificates
	if len(certs) != 4 {
		t.Fatalf("certificates.list gave %d, want 4", len(certs))
	}
	want := []struct {
		id, cn, keyType string
	}{
		{h.certID(rsaID), "Budi Santoso", "RSA-2048"},
		{h.certID(p256ID), "Siti Rahayu", "EC-P256"},
		{h.certID(expiredID), "Expired", "EC-P256"},
		{h.certID(alwaysID), "Always Auth", "RSA-2048"},
	}
	for i, w := range want {
		got := certs[i]
		parsed, err := x509.ParseCertificate(got.Certificate)
		if err != nil {
			t.Fatalf("certificate %d: %v", i, err)
		}
		if got.ID != w.id || got.TokenID != h.serial || parsed.Subject.CommonName != w.cn || got.KeyType != w.keyType ||
			!strings.Contains(got.Subject, "CN="+w.cn) || !strings.Contains(got.Issuer, "CN=Test BSrE CA") ||
			!slices.Equal(got.KeyUsage, []string{"digitalSignature", "nonRepudiation"}) ||
			got.SerialNumber != fmt.Sprintf("%x", parsed.SerialNumber) {
			t.Errorf("certificate %d = %+v", i, got)
		}
	}
	if certs[0].DaysLeft < 700 || certs[2].DaysLeft >= 0 {
		t.Errorf("daysLeft = %d and %d, want about 730 and negative", certs[0].DaysLeft, certs[2].DaysLeft)
	}
	valid := mustCall[protocol.CertificatesList](c, "certificates.list", map[string]any{"validOnly": true}).Certificates
	if len(valid) != 3 {
		t.Errorf("validOnly gave %d certificates, want 3", len(valid))
	}
	enc := mustCall[protocol.CertificatesList](c, "certificates.list", map[string]any{"keyUsage": "keyEncipherment"}).Certificates
	if len(enc) != 0 {
		t.Errorf("keyUsage keyEncipherment gave %d certificates, want 0", len(enc))
	}
	_, perr := c.call("certificates.list", map[string]any{"keyUsage": "everything"})
	wantError(t, perr, protocol.ReasonBadRequest)
}

func digestOf(h crypto.Hash, s string) []byte {
	switch h {
	case crypto.SHA384:
		d := sha512.Sum384([]byte(s))
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512([]byte(s))
		return d[:]
	}
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func TestSignDigest(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	tests := []struct {
		key     []byte
		hash    protocol.HashAlgorithm
		sigAlg  protocol.SignatureAlgorithm
		openssl []string
	}{
		{rsaID, "", "", []string{"digest:sha256"}},
		{rsaID, protocol.SHA384, protocol.RSAPKCS1v15, []string{"digest:sha384"}},
		{rsaID, protocol.SHA512, protocol.RSAPKCS1v15, []string{"digest:sha512"}},
		{rsaID, protocol.SHA256, protocol.RSAPSS, []string{"digest:sha256", "rsa_padding_mode:pss", "rsa_pss_saltlen:digest"}},
		{rsaID, protocol.SHA512, protocol.RSAPSS, []string{"digest:sha512", "rsa_padding_mode:pss", "rsa_pss_saltlen:digest"}},
		{p256ID, "", protocol.ECDSA, []string{"digest:sha256"}},
		{p256ID, protocol.SHA384, "", []string{"digest:sha384"}},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%x-%s-%s", tt.key, tt.hash, tt.sigAlg)
		t.Run(name, func(t *testing.T) {
			hash := tt.hash
			if hash == "" {
				hash = protocol.SHA256
			}
			items := []map[string]any{}
			for i := range 3 {
				items = append(items, map[string]any{"name": fmt.Sprintf("surat-%03d.pdf", i), "digest": digestOf(hash.Hash(), fmt.Sprint("isi surat ", i))})
			}
			params := map[string]any{"certificateId": h.certID(tt.key), "items": items}
			if tt.hash != "" {
				params["hashAlgorithm"] = tt.hash
			}
			if tt.sigAlg != "" {
				params["signatureAlgorithm"] = tt.sigAlg
			}
			c.notes = nil
			res := mustCall[protocol.SignDigestResult](c, "sign.digest", params)
			cert, err := x509.ParseCertificate(res.Certificate)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Items) != 3 {
				t.Fatalf("%d signatures, want 3", len(res.Items))
			}
			for i, it := range res.Items {
				d := items[i]["digest"].([]byte)
				if it.Name != items[i]["name"] {
					t.Errorf("item %d name %q", i, it.Name)
				}
				if err := goVerify(cert, hash.Hash(), tt.sigAlg == protocol.RSAPSS, d, it.Signature); err != nil {
					t.Errorf("item %d: Go rejects the signature: %v", i, err)
				}
				if err := opensslVerify(t, cert, d, it.Signature, tt.openssl); err != nil {
					t.Errorf("item %d: openssl rejects the signature: %v", i, err)
				}
			}
			// A tampered signature must fail both verifiers, or they prove nothing.
			bad := bytes.Clone(res.Items[0].Signature)
			bad[len(bad)/2] ^= 0x01
			d0 := items[0]["digest"].([]byte)
			if goVerify(cert, hash.Hash(), tt.sigAlg == protocol.RSAPSS, d0, bad) == nil || opensslVerify(t, cert, d0, bad, tt.openssl) == nil {
				t.Error("a tampered signature verified")
			}
			stages := []string{}
			for _, n := range c.notes {
				var p protocol.Progress
				remarshal(t, n.Params, &p)
				stages = append(stages, fmt.Sprintf("%s %d/%d", p.Stage, p.Done, p.Total))
			}
			if len(stages) < 3 || stages[0] != "awaiting_user 0/3" || stages[1] != "signing 0/3" || stages[len(stages)-1] != "signing 3/3" {
				t.Errorf("progress = %v", stages)
			}
		})
	}
	shown := h.fake.Shown(t)
	if len(shown) != len(tests) {
		t.Fatalf("%d dialogs for %d requests, want one each", len(shown), len(tests))
	}
	d := shown[0].Desc
	for _, w := range []string{testOrigin, "Sertifikat: Budi Santoso", "Penerbit: Test BSrE CA", "Berlaku sampai:",
		"Nilai hash yang ditandatangani: 3 (SHA-256)", "surat-000.pdf", "surat-002.pdf"} {
		if !strings.Contains(d, w) {
			t.Errorf("dialog lacks %q:\n%s", w, d)
		}
	}
	if shown[0].Title == "" || shown[0].Prompt != "PIN:" || shown[0].OK != "Tanda tangani" || shown[0].Cancel != "Batal" {
		t.Errorf("dialog %+v", shown[0])
	}
}

func goVerify(cert *x509.Certificate, h crypto.Hash, pss bool, d, sig []byte) error {
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if pss {
			return rsa.VerifyPSS(k, h, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.VerifyPKCS1v15(k, h, d, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, d, sig) {
			return errors.New("ECDSA signature invalid")
		}
		return nil
	}
	return errors.New("unknown key")
}

// opensslVerify checks a signature over a digest with `openssl pkeyutl
// -verify`, the certificate as the key.
func opensslVerify(t *testing.T, cert *x509.Certificate, d, sig []byte, opts []string) error {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed: run scripts/install-deps.sh")
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	args := []string{"pkeyutl", "-verify", "-certin",
		"-inkey", write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		"-in", write("digest.bin", d), "-sigfile", write("sig.bin", sig)}
	for _, o := range opts {
		args = append(args, "-pkeyopt", o)
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "Signature Verified Successfully") {
		return fmt.Errorf("unexpected openssl output %q", out)
	}
	return nil
}
