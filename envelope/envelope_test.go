package envelope

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type party struct {
	name string
	cert *x509.Certificate
	key  crypto.Signer
}

func newParty(t *testing.T, name string, key crypto.Signer, usage x509.KeyUsage) party {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: usage}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return party{name, c, key}
}

func parties(t *testing.T) []party {
	t.Helper()
	r, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	return []party{
		newParty(t, "Budi RSA", r, x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment),
		newParty(t, "Siti P-256", p256, x509.KeyUsageDigitalSignature|x509.KeyUsageKeyAgreement),
		newParty(t, "Rina P-384", p384, x509.KeyUsageKeyAgreement),
	}
}

// opener is what a recipient opens with: the RSA key as a Decrypter, an
// EC key as its ECDH form.
func opener(t *testing.T, p party) any {
	if k, ok := p.key.(*ecdsa.PrivateKey); ok {
		e, err := k.ECDH()
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	return p.key
}

// TestRoundTrip: every cipher and padding, to three recipients at once
// (RSA, P-256, P-384), opens for each, and for nobody else; a changed byte
// is refused whole.
func TestRoundTrip(t *testing.T) {
	ps := parties(t)
	certs := []*x509.Certificate{ps[0].cert, ps[1].cert, ps[2].cert}
	outsider := parties(t)[0]
	content := bytes.Repeat([]byte("Surat rahasia nomor 7. "), 1000)
	for _, opts := range []Options{{}, {Cipher: AES256CBC}, {RSAPadding: RSAPKCS1v15}, {Cipher: AES256CBC, RSAPadding: RSAPKCS1v15}} {
		der, err := Encrypt(content, certs, opts)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		e, err := Parse(der)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		if len(e.Recipients) != 3 || e.Auth != (opts.Cipher != AES256CBC) {
			t.Errorf("%+v: parsed %d recipients, auth %v", opts, len(e.Recipients), e.Auth)
		}
		for _, p := range ps {
			got, err := e.Open(p.cert, opener(t, p))
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("%+v: %s cannot open: %v", opts, p.name, err)
			}
		}
		if _, err := e.Open(outsider.cert, outsider.key); !errors.Is(err, ErrNotRecipient) {
			t.Errorf("%+v: an outsider: %v", opts, err)
		}
		// The RSA recipient's slot opened with another RSA key.
		r, _ := e.For(ps[0].cert)
		if _, err := r.ContentKey(outsider.key); err == nil {
			if _, err := e.Open(ps[0].cert, outsider.key); !errors.Is(err, ErrDecrypt) {
				t.Errorf("%+v: a wrong RSA key: %v", opts, err)
			}
		}
		// A changed byte of the content: GCM refuses the whole; CBC has no
		// integrity (why GCM is the default) and gives other content.
		changed := bytes.Clone(der)
		changed[e.contentAt+100] ^= 1
		e2, err := Parse(changed)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		got, err := e2.Open(ps[1].cert, opener(t, ps[1]))
		if e.Auth && !errors.Is(err, ErrDecrypt) || !e.Auth && err == nil && bytes.Equal(got, content) {
			t.Errorf("%+v: a changed envelope: %v", opts, err)
		}
	}
	// Recipients that cannot receive.
	sig := newParty(t, "Hanya tanda tangan", ps[0].key, x509.KeyUsageDigitalSignature)
	if _, err := Encrypt(content, []*x509.Certificate{sig.cert}, Options{}); !errors.Is(err, ErrRecipient) {
		t.Errorf("a signing-only RSA certificate: %v", err)
	}
	if _, err := Encrypt(content, nil, Options{}); !errors.Is(err, ErrRecipient) {
		t.Errorf("no recipient: %v", err)
	}
	if _, err := Encrypt(content, certs, Options{Cipher: "DES"}); !errors.Is(err, ErrOptions) {
		t.Errorf("an unknown cipher: %v", err)
	}
}

func writePEM(t *testing.T, dir string, p party) (cert, key string) {
	t.Helper()
	cert, key = filepath.Join(dir, p.name+".crt"), filepath.Join(dir, p.name+".key")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Raw}), 0o600)
	der, err := x509.MarshalPKCS8PrivateKey(p.key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	return cert, key
}

// TestOpenSSL: envelopes interoperate both ways with `openssl cms`, for
// RSA (OAEP-SHA-256, OAEP-SHA-1 as OpenSSL's default, PKCS #1 v1.5) and EC
// recipients, with AES-256-GCM and AES-256-CBC.
func TestOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed: run scripts/install-deps.sh test")
	}
	dir := t.TempDir()
	ps := parties(t)[:2]
	content := []byte(strings.Repeat("Nota dinas: rapat pukul 09.00.\n", 300))
	in := filepath.Join(dir, "surat.txt")
	os.WriteFile(in, content, 0o600)
	for _, p := range ps {
		cert, key := writePEM(t, dir, p)
		// Ours, opened by openssl.
		for _, opts := range []Options{{}, {Cipher: AES256CBC}, {RSAPadding: RSAPKCS1v15}} {
			der, err := Encrypt(content, []*x509.Certificate{p.cert}, opts)
			if err != nil {
				t.Fatal(err)
			}
			env := filepath.Join(dir, "ours.p7m")
			os.WriteFile(env, der, 0o600)
			out, err := exec.Command("openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", env, "-recip", cert, "-inkey", key).Output()
			if err != nil || !bytes.Equal(out, content) {
				t.Errorf("%s %+v: openssl cms -decrypt: %v", p.name, opts, err)
			}
		}
		// openssl's, opened by ours.
		variants := [][]string{{"-aes-256-gcm"}, {"-aes-256-cbc"}}
		if _, ok := p.key.(*rsa.PrivateKey); ok {
			variants = append(variants, []string{"-aes-256-gcm", "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"},
				[]string{"-aes-256-cbc", "-keyopt", "rsa_padding_mode:oaep"})
		} else {
			for i := range variants {
				variants[i] = append(variants[i], "-keyopt", "ecdh_kdf_md:sha256")
			}
		}
		// -stream writes BER: indefinite lengths, the content in chunks.
		for _, v := range variants[:2] {
			variants = append(variants, append([]string{"-stream"}, v...))
		}
		for _, v := range variants {
			env := filepath.Join(dir, "theirs.p7m")
			args := append([]string{"cms", "-encrypt", "-binary", "-outform", "DER", "-in", in, "-out", env, "-recip", cert}, v...)
			if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %v: %v\n%s", args, err, out)
			}
			der, _ := os.ReadFile(env)
			e, err := Parse(der)
			if err != nil {
				t.Errorf("%s %v: parsing openssl's envelope: %v", p.name, v, err)
				continue
			}
			got, err := e.Open(p.cert, opener(t, p))
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("%s %v: opening openssl's envelope: %v", p.name, v, err)
			}
		}
	}
}

// TestBER: envelopes openssl wrote with -stream (kept in testdata) are
// read: indefinite lengths, the content as a constructed OCTET STRING;
// every cut of one is refused, never read past.
func TestBER(t *testing.T) {
	for _, name := range []string{"stream-gcm.p7m", "stream-cbc.p7m"} {
		ber, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		e, err := Parse(ber)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !e.chunked || len(e.Recipients) != 1 || e.ContentSize() < 3000 {
			t.Errorf("%s: chunked %v, %d recipients, %d bytes", name, e.chunked, len(e.Recipients), e.ContentSize())
		}
		for n := range len(ber) {
			if _, err := Parse(ber[:n]); err == nil {
				t.Fatalf("%s cut to %d bytes parses", name, n)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	ps := parties(&testing.T{})
	for _, opts := range []Options{{}, {Cipher: AES256CBC, RSAPadding: RSAPKCS1v15}} {
		der, err := Encrypt([]byte("isi"), []*x509.Certificate{ps[0].cert, ps[1].cert}, opts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	// BER as `openssl cms -stream` writes it: indefinite lengths, the
	// content in pieces.
	for _, name := range []string{"stream-gcm.p7m", "stream-cbc.p7m"} {
		ber, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ber)
	}
	key := opener(&testing.T{}, ps[1])
	f.Fuzz(func(t *testing.T, der []byte) {
		e, err := Parse(der)
		if err != nil {
			return
		}
		// Whatever parses can be read through (a key that does not
		// open it still walks the content) and tried, without a panic.
		e.Decrypt(make([]byte, 32))
		for i := range e.Recipients {
			if ck, err := e.Recipients[i].ContentKey(key); err == nil {
				e.Decrypt(ck)
			}
		}
		_ = fmt.Sprint(len(e.Recipients))
	})
}
