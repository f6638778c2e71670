package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Every signature this package makes reads back and verifies; a changed
// content or signature does not.
func TestParseVerify(t *testing.T) {
	pki := newPKI(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	content := []byte("Nota Dinas\n")
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		hash crypto.Hash
		pss  bool
	}{
		{"RSA PKCS#1 v1.5", rsaKey, crypto.SHA256, false},
		{"RSA-PSS SHA-384", rsaKey, crypto.SHA384, true},
		{"ECDSA P-256", p256, crypto.SHA256, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := pki.issue(t, tc.key, "Penandatangan", x509.ExtKeyUsageEmailProtection)
			d := tc.hash.New()
			d.Write(content)
			digest := d.Sum(nil)
			sd, err := Sign(digest, cert, tc.key, Options{Hash: tc.hash, PSS: tc.pss, SigningTime: time.Now(), Chain: []*x509.Certificate{pki.ca}})
			if err != nil {
				t.Fatal(err)
			}
			if err := sd.AddTimestamp([]byte{0x30, 0x03, 0x02, 0x01, 0x01}); err != nil {
				t.Fatal(err)
			}
			if err := sd.AddValidationData([][]byte{pki.ca.Raw}, [][]byte{{0x30, 0x00}}, nil); err != nil {
				t.Fatal(err)
			}
			der, _ := sd.Bytes()
			p, err := Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			s := p.Signers[0]
			if !s.Cert.Equal(cert) || s.SigningTime.IsZero() || s.TimeStampToken == nil || len(s.CertValues) != 1 || len(s.CRLValues) != 1 {
				t.Fatalf("read back: cert %v time %v tst %d certValues %d crls %d", s.Cert != nil, s.SigningTime, len(s.TimeStampToken), len(s.CertValues), len(s.CRLValues))
			}
			if err := s.Verify(digest); err != nil {
				t.Fatalf("our own signature does not verify: %v", err)
			}
			bad := append([]byte{}, digest...)
			bad[0] ^= 1
			if err := s.Verify(bad); !errors.Is(err, ErrDigest) {
				t.Fatalf("changed content: %v", err)
			}
			s.Signature[len(s.Signature)/2] ^= 1
			if err := s.Verify(digest); !errors.Is(err, ErrSignature) {
				t.Fatalf("changed signature: %v", err)
			}
		})
	}
}

// A signature made by openssl (another implementation) reads and verifies.
func TestParseOpenSSL(t *testing.T) {
	pki := newPKI(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := pki.issue(t, key, "OpenSSL Signer", x509.ExtKeyUsageEmailProtection)
	dir := t.TempDir()
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	writePEM(t, filepath.Join(dir, "key.pem"), "PRIVATE KEY", keyDER)
	writePEM(t, filepath.Join(dir, "cert.pem"), "CERTIFICATE", cert.Raw)
	content := []byte("Surat dari openssl\n")
	os.WriteFile(filepath.Join(dir, "in.txt"), content, 0o600)
	if out, err := openssl(t, "cms", "-sign", "-binary", "-in", filepath.Join(dir, "in.txt"), "-signer", filepath.Join(dir, "cert.pem"),
		"-inkey", filepath.Join(dir, "key.pem"), "-outform", "DER", "-out", filepath.Join(dir, "sig.p7s"), "-md", "sha256"); err != nil {
		t.Fatalf("openssl cms -sign: %v\n%s", err, out)
	}
	der, _ := os.ReadFile(filepath.Join(dir, "sig.p7s"))
	p, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if err := p.Signers[0].Verify(sum[:]); err != nil {
		t.Fatal(err)
	}
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Parse never panics on garbage.
func FuzzParse(f *testing.F) {
	pki := newPKI(f)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := pki.issue(f, key, "Fuzz", x509.ExtKeyUsageEmailProtection)
	sum := sha256.Sum256([]byte("x"))
	sd, _ := Sign(sum[:], cert, key, Options{Hash: crypto.SHA256})
	sd.AddValidationData([][]byte{cert.Raw}, nil, nil)
	der, _ := sd.Bytes()
	f.Add(der)
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := Parse(b); err == nil {
			for _, s := range p.Signers {
				s.Verify(sum[:])
			}
		}
	})
}
