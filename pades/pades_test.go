package pades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/pades/hostile"
	"github.com/tte-agent/tte-agent/pades/padestest"
)

type signer struct {
	cert   *x509.Certificate
	key    crypto.Signer
	chain  []*x509.Certificate
	caFile string
}

func newSigner(t *testing.T, rsaKey bool) signer {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "PAdES Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caTmpl.KeyUsage |= x509.KeyUsageCRLSign
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	ca, _ := x509.ParseCertificate(caDER)
	var key crypto.Signer
	if rsaKey {
		key, _ = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Budi Santoso"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		CRLDistributionPoints: []string{padestest.CRLServer(t, ca, caKey)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	return signer{cert: cert, key: key, chain: []*x509.Certificate{ca}, caFile: caFile}
}

// sign signs the file at in and writes original ‖ update to a new file.
func sign(t *testing.T, s signer, in string, o pades.Options) (string, error) {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(in)
	defer f.Close()
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	if o.ContentsSize == 0 {
		o.ContentsSize = cms.SizeBound(s.cert, s.chain)
	}
	u, err := pades.Prepare(context.Background(), f, int64(len(data)), o)
	if err != nil {
		return "", err
	}
	d, err := u.Digest(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cms.Sign(d, s.cert, s.key, cms.Options{Hash: crypto.SHA256, Chain: s.chain})
	if err != nil {
		t.Fatal(err)
	}
	der, _ := sd.Bytes()
	update, err := u.Finish(der)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)+len(update)) != u.SignedSize() {
		t.Errorf("SignedSize %d, want %d", u.SignedSize(), len(data)+len(update))
	}
	out := filepath.Join(t.TempDir(), "signed-"+filepath.Base(in))
	if err := os.WriteFile(out, append(data, update...), 0o600); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

var corpus = []string{"go-minimal.pdf", "go-incremental.pdf", "qpdf-objstm.pdf", "qpdf-linearized.pdf", "cairo.pdf", "ghostscript.pdf"}

func TestCorpusSignTwice(t *testing.T) {
	for i, name := range corpus {
		t.Run(name, func(t *testing.T) {
			s := newSigner(t, i%2 == 0)
			once, err := sign(t, s, filepath.Join("testdata", name), pades.Options{Reason: "Persetujuan", Location: "Denpasar", ContactInfo: "budi@example.go.id"})
			if err != nil {
				t.Fatal(err)
			}
			r := padestest.Check(t, once, s.caFile)
			if len(r.PdfsigValid) != 1 || !r.PdfsigValid[0] || !r.PdfsigTotal || len(r.PAdES) != 1 || r.PAdES[0] != "B-B" {
				t.Fatalf("after one signature: %s", r)
			}
			// A second signer on the signed file: both signatures stay valid.
			s2 := newSigner(t, i%2 == 1)
			twice, err := sign(t, s2, once, pades.Options{Reason: "Mengetahui"})
			if err != nil {
				t.Fatal(err)
			}
			r = padestest.Check(t, twice, s.caFile, s2.caFile)
			if len(r.PdfsigValid) != 2 || !r.PdfsigValid[0] || !r.PdfsigValid[1] || !r.PdfsigTotal ||
				len(r.PAdES) != 2 || r.PAdES[0] != "B-B" || r.PAdES[1] != "B-B" {
				t.Fatalf("after two signatures: %s", r)
			}
			if !strings.Contains(r.Output, "Persetujuan") || !strings.Contains(r.Output, "Denpasar") {
				t.Errorf("reason or location missing:\n%s", r.Output)
			}
		})
	}
}

func TestTamperedFileFails(t *testing.T) {
	s := newSigner(t, false)
	signed, err := sign(t, s, "testdata/go-minimal.pdf", pades.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(signed)
	i := strings.Index(string(data), "halaman 1")
	data[i] = 'H'
	os.WriteFile(signed, data, 0o600)
	r := padestest.Check(t, signed, s.caFile)
	if len(r.PdfsigValid) != 1 || r.PdfsigValid[0] {
		t.Errorf("a changed document still verifies: %s", r)
	}
}

func TestBadInput(t *testing.T) {
	s := newSigner(t, false)
	for _, tt := range []struct{ file, want string }{
		{"bad-truncated.pdf", "truncated"},
		{"bad-encrypted.pdf", "password"},
		{"bad-not-pdf.pdf", "not a PDF"},
		{"bad-malformed.pdf", "damaged"},
	} {
		_, err := sign(t, s, filepath.Join("testdata", tt.file), pades.Options{})
		if !errors.Is(err, pades.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want ErrInvalid mentioning %q", tt.file, err, tt.want)
		}
	}
}

// A document certified with no changes allowed is refused; one that
// allows signatures is signed.
func TestCertifiedDocuments(t *testing.T) {
	for p, wantErr := range map[int]bool{1: true, 2: false, 3: false} {
		data := hostile.Certified(p)
		_, err := pades.Prepare(context.Background(), bytes.NewReader(data), int64(len(data)), pades.Options{ContentsSize: 2048})
		if got := err != nil; got != wantErr {
			t.Errorf("P=%d: err %v", p, err)
		}
		if wantErr && (!errors.Is(err, pades.ErrInvalid) || !strings.Contains(err.Error(), "DocMDP P=1")) {
			t.Errorf("P=%d: %v", p, err)
		}
	}
}
