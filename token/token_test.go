package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/tte-agent/tte-agent/token"
	"github.com/tte-agent/tte-agent/token/softhsm"
)

const (
	pin   = "123456"
	sopin = "12345678"
)

// newToken creates a SoftHSM token with the keys, opens a Provider on it
// and returns both. SoftHSM2 must be installed: the test fails, not skips,
// without it.
func newToken(t *testing.T, keys ...softhsm.KeySpec) (*token.Provider, *softhsm.Token) {
	t.Helper()
	store, err := softhsm.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", store.Conf)
	ca, err := softhsm.NewCA(pkix.Name{CommonName: "Test CA"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := store.CreateToken(softhsm.TokenSpec{Label: "test", PIN: pin, SOPIN: sopin, Keys: keys,
		ExtraCerts: []*x509.Certificate{ca.Cert}}, ca)
	if err != nil {
		t.Fatal(err)
	}
	p, err := token.Open([]string{store.Module}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, tok
}

var allKeys = []softhsm.KeySpec{
	{Label: "rsa", ID: []byte{1}, Type: "RSA-2048", Subject: pkix.Name{CommonName: "RSA Signer"}},
	{Label: "p256", ID: []byte{2}, Type: "EC-P256", Subject: pkix.Name{CommonName: "P256 Signer"}},
	{Label: "p384", ID: []byte{3}, Type: "EC-P384", Subject: pkix.Name{CommonName: "P384 Signer"}},
	{Label: "rsa-aa", ID: []byte{4, 0xab}, Type: "RSA-2048", AlwaysAuthenticate: true, Subject: pkix.Name{CommonName: "Always Auth"}},
}

func TestTokensAndCertificates(t *testing.T) {
	p, tok := newToken(t, allKeys...)
	toks, err := p.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 1 {
		t.Fatalf("got %d tokens, want 1: %+v", len(toks), toks)
	}
	got := toks[0]
	if got.Serial != tok.Serial || got.Label != "test" || got.Model == "" || got.Manufacturer == "" {
		t.Errorf("token info = %+v, want serial %s label test", got, tok.Serial)
	}
	if got.PINStatus != token.PINOK || got.ProtectedAuthPath {
		t.Errorf("PIN status %s, protected path %v; want ok, false", got.PINStatus, got.ProtectedAuthPath)
	}
	certs, err := p.Certificates()
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != len(allKeys) {
		t.Fatalf("got %d certificates, want %d", len(certs), len(allKeys))
	}
	for i, c := range certs {
		want := token.CertificateID(tok.Serial, allKeys[i].ID)
		if c.ID != want || c.Cert.Subject.CommonName != allKeys[i].Subject.CommonName {
			t.Errorf("certificate %d = %s %q, want %s %q", i, c.ID, c.Cert.Subject.CommonName, want, allKeys[i].Subject.CommonName)
		}
		chain, err := p.Chain(c)
		if err != nil || len(chain) != 1 || chain[0].Subject.CommonName != "Test CA" {
			t.Errorf("Chain(%s) = %v, %v; want the test CA", c.ID, chain, err)
		}
		byID, err := p.Certificate(c.ID)
		if err != nil || !byID.Cert.Equal(c.Cert) {
			t.Errorf("Certificate(%s) = %v, %v", c.ID, byID.Cert.Subject, err)
		}
	}
	for _, id := range []string{tok.Serial + "/ff", "nope/01", "garbage", tok.Serial + "/0AB"} {
		if _, err := p.Certificate(id); !errors.Is(err, token.ErrNotFound) {
			t.Errorf("Certificate(%q) error = %v, want ErrNotFound", id, err)
		}
	}
}

func TestChainFromConfiguredCertificates(t *testing.T) {
	// A token without its CA certificate: the chain comes from extra.
	store, err := softhsm.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", store.Conf)
	root, _ := softhsm.NewCA(pkix.Name{CommonName: "Root"})
	other, _ := softhsm.NewCA(pkix.Name{CommonName: "Root"}) // same name, other key
	tok, err := store.CreateToken(softhsm.TokenSpec{Label: "bare", PIN: pin, SOPIN: sopin, Keys: allKeys[:1]}, root)
	if err != nil {
		t.Fatal(err)
	}
	p, err := token.Open([]string{store.Module}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := p.Certificate(token.CertificateID(tok.Serial, allKeys[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	if chain, _ := p.Chain(c); len(chain) != 0 {
		t.Errorf("chain from a bare token = %d certificates, want none", len(chain))
	}
	chain, err := p.Chain(c, other.Cert, root.Cert)
	if err != nil || len(chain) != 1 || !chain[0].Equal(root.Cert) {
		t.Errorf("chain = %v, %v; want the real root (the look-alike is skipped by signature)", chain, err)
	}
}

func TestLoginWrongPIN(t *testing.T) {
	p, tok := newToken(t, allKeys[0])
	_, err := p.Login(tok.Serial, []byte("000000"))
	var pe *token.PINError
	if !errors.Is(err, token.ErrPINIncorrect) || !errors.As(err, &pe) {
		t.Fatalf("Login with a wrong PIN: %v, want ErrPINIncorrect as *PINError", err)
	}
	// SoftHSM never locks, but it raises CKF_USER_PIN_COUNT_LOW after a
	// failed login; the error carries what the token reports now.
	if pe.Status != token.PINCountLow {
		t.Errorf("status after a wrong PIN = %q, want count_low", pe.Status)
	}
	if _, err := p.Login("0000000000000000", []byte(pin)); !errors.Is(err, token.ErrNotFound) {
		t.Errorf("Login to a missing token: %v, want ErrNotFound", err)
	}
}

func TestSign(t *testing.T) {
	p, tok := newToken(t, allKeys...)
	certs, err := p.Certificates()
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Login(tok.Serial, []byte(pin))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hashes := []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}
	for _, c := range certs {
		k, err := s.Key(c.KeyID)
		if err != nil {
			t.Fatalf("%s: %v", c.Label, err)
		}
		if k.AlwaysAuthenticate != (c.Label == "rsa-aa") {
			t.Errorf("%s: AlwaysAuthenticate = %v", c.Label, k.AlwaysAuthenticate)
		}
		for _, h := range hashes {
			d := digest(h, "surat "+c.Label)
			var optsList []crypto.SignerOpts
			if k.EC {
				optsList = []crypto.SignerOpts{h}
			} else {
				optsList = []crypto.SignerOpts{h, &rsa.PSSOptions{Hash: h, SaltLength: rsa.PSSSaltLengthEqualsHash}}
			}
			for _, opts := range optsList {
				sig, err := s.Sign(k, d, opts, []byte(pin))
				if err != nil {
					t.Fatalf("%s %v %T: %v", c.Label, h, opts, err)
				}
				if err := verify(c.Cert.PublicKey, d, sig, opts); err != nil {
					t.Errorf("%s %v %T: signature does not verify: %v", c.Label, h, opts, err)
				}
			}
		}
	}
	// The always-authenticate key refuses a wrong context-specific PIN.
	k, err := s.Key([]byte{4, 0xab})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(k, digest(crypto.SHA256, "x"), crypto.SHA256, []byte("999999")); !errors.Is(err, token.ErrPINIncorrect) {
		t.Errorf("context-specific login with a wrong PIN: %v, want ErrPINIncorrect", err)
	}
	if _, err := s.Key([]byte{9}); !errors.Is(err, token.ErrNotFound) {
		t.Errorf("Key of a missing id: %v, want ErrNotFound", err)
	}
}

func TestCloseLogsOut(t *testing.T) {
	p, tok := newToken(t, allKeys[0])
	s, err := p.Login(tok.Serial, []byte(pin))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// After logout a new session is not logged in: a wrong PIN fails.
	if _, err := p.Login(tok.Serial, []byte("bad")); !errors.Is(err, token.ErrPINIncorrect) {
		t.Errorf("login after logout with a bad PIN: %v", err)
	}
}

func digest(h crypto.Hash, s string) []byte {
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

func verify(pub crypto.PublicKey, d, sig []byte, opts crypto.SignerOpts) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			return rsa.VerifyPSS(k, pss.Hash, d, sig, &rsa.PSSOptions{SaltLength: opts.HashFunc().Size()})
		}
		return rsa.VerifyPKCS1v15(k, opts.HashFunc(), d, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, d, sig) {
			return errors.New("ECDSA verification failed")
		}
		return nil
	}
	return errors.New("unknown key type")
}

func TestForkSignsInParallel(t *testing.T) {
	p, tok := newToken(t, allKeys[:2]...)
	certs, _ := p.Certificates()
	s, err := p.Login(tok.Serial, []byte(pin))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		f, err := s.Fork()
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer f.Close()
			c := certs[w%2]
			k, err := f.Key(c.KeyID)
			if err != nil {
				errs <- err
				return
			}
			for i := range 20 {
				d := digest(crypto.SHA256, fmt.Sprint(w, i))
				sig, err := f.Sign(k, d, crypto.SHA256, nil)
				if err == nil {
					err = verify(c.Cert.PublicKey, d, sig, crypto.SHA256)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Closing forks did not log out the parent.
	k, _ := s.Key(certs[0].KeyID)
	if _, err := s.Sign(k, digest(crypto.SHA256, "x"), crypto.SHA256, nil); err != nil {
		t.Errorf("parent session after its forks closed: %v", err)
	}
}
