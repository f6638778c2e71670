package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testPKI struct {
	ca     *x509.Certificate
	caKey  crypto.Signer
	caFile string
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CMS Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	f := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	return &testPKI{ca: ca, caKey: key, caFile: f}
}

func (p *testPKI) issue(t testing.TB, key crypto.Signer, cn string, eku x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, ExtKeyUsage: []x509.ExtKeyUsage{eku}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, key.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func openssl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed: run scripts/install-deps.sh")
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err
}

func TestDetachedVerifiesWithOpenSSL(t *testing.T) {
	pki := newPKI(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	content := []byte("Surat Keputusan Walikota Nomor 1 Tahun 2026\n")
	dir := t.TempDir()
	contentFile := filepath.Join(dir, "surat.txt")
	os.WriteFile(contentFile, content, 0o600)
	tests := []struct {
		name string
		key  crypto.Signer
		hash crypto.Hash
		pss  bool
		time bool
		want string // signature algorithm as openssl prints it
	}{
		{"RSA SHA-256", rsaKey, crypto.SHA256, false, true, "rsaEncryption"},
		{"RSA SHA-512", rsaKey, crypto.SHA512, false, true, "rsaEncryption"},
		{"RSA-PSS SHA-256", rsaKey, crypto.SHA256, true, true, "rsassaPss"},
		{"RSA-PSS SHA-384", rsaKey, crypto.SHA384, true, false, "rsassaPss"},
		{"P-256 SHA-256", p256, crypto.SHA256, false, true, "ecdsa-with-SHA256"},
		{"P-384 SHA-384", p384, crypto.SHA384, false, false, "ecdsa-with-SHA384"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := pki.issue(t, tt.key, "Budi "+tt.name, x509.ExtKeyUsageEmailProtection)
			h := tt.hash.New()
			h.Write(content)
			opts := Options{Hash: tt.hash, PSS: tt.pss, Chain: []*x509.Certificate{pki.ca}}
			if tt.time {
				opts.SigningTime = time.Now()
			}
			sd, err := Sign(h.Sum(nil), cert, tt.key, opts)
			if err != nil {
				t.Fatal(err)
			}
			der, err := sd.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			sigFile := filepath.Join(dir, "sig.p7s")
			os.WriteFile(sigFile, der, 0o600)
			out, err := openssl(t, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigFile, "-content", contentFile, "-CAfile", pki.caFile, "-out", os.DevNull)
			if err != nil || !strings.Contains(out, "Verification successful") {
				t.Fatalf("openssl cms -verify: %v\n%s", err, out)
			}
			// A changed document must fail the same check.
			other := filepath.Join(dir, "other.txt")
			os.WriteFile(other, append(content, '!'), 0o600)
			if out, err := openssl(t, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigFile, "-content", other, "-CAfile", pki.caFile, "-out", os.DevNull); err == nil {
				t.Fatalf("a changed document verified:\n%s", out)
			}
			printed, err := openssl(t, "cms", "-cmsout", "-print", "-inform", "DER", "-in", sigFile)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"contentType", "messageDigest", "id-smime-aa-signingCertificateV2", tt.want, "eContent: <ABSENT>"} {
				if !strings.Contains(printed, w) {
					t.Errorf("CMS lacks %q", w)
				}
			}
			if got := strings.Contains(printed, "signingTime"); got != tt.time {
				t.Errorf("signingTime present %v, want %v", got, tt.time)
			}
			if strings.Count(printed, "cert_info:") != 2 {
				t.Errorf("want the signer certificate and the CA, got %d certificates", strings.Count(printed, "cert_info:"))
			}
		})
	}
}

func TestEncapsulatedWithTimestampAttribute(t *testing.T) {
	pki := newPKI(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := pki.issue(t, key, "TSA", x509.ExtKeyUsageTimeStamping)
	content := []byte("TSTInfo placeholder")
	h := crypto.SHA256.New()
	h.Write(content)
	sd, err := Sign(h.Sum(nil), cert, key, Options{Hash: crypto.SHA256, ContentType: OIDTSTInfo, Content: content})
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.AddTimestamp([]byte{0x30, 0x03, 0x02, 0x01, 0x01}); err != nil {
		t.Fatal(err)
	}
	der, _ := sd.Bytes()
	f := filepath.Join(t.TempDir(), "tst.p7s")
	os.WriteFile(f, der, 0o600)
	printed, err := openssl(t, "cms", "-cmsout", "-print", "-inform", "DER", "-in", f)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"id-smime-ct-TSTInfo", "version: 3", "id-smime-aa-timeStampToken"} {
		if !strings.Contains(printed, w) {
			t.Errorf("CMS lacks %q:\n%s", w, printed)
		}
	}
}

func TestSignRefusesWrongDigest(t *testing.T) {
	pki := newPKI(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := pki.issue(t, key, "x", x509.ExtKeyUsageEmailProtection)
	if _, err := Sign(make([]byte, 20), cert, key, Options{Hash: crypto.SHA256}); err == nil {
		t.Error("a 20-byte digest was accepted for SHA-256")
	}
	if _, err := Sign(make([]byte, 32), cert, key, Options{Hash: crypto.SHA256, PSS: true}); err == nil {
		t.Error("PSS accepted for an EC key")
	}
}
