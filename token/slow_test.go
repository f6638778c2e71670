package token_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/token"
	"github.com/tte-agent/tte-agent/token/softhsm"
)

// TestSlowModule checks the test module that gives SoftHSM a smartcard's
// pace (the benchmarks' token-bound batches rely on it): every call passes
// through, signatures are real, and signatures from four sessions at once
// take one delay each, one after another.
func TestSlowModule(t *testing.T) {
	const delay = 100 * time.Millisecond
	dir := t.TempDir()
	store, err := softhsm.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := softhsm.NewCA(pkix.Name{CommonName: "Test CA"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := store.CreateToken(softhsm.TokenSpec{Label: "slow", PIN: pin, SOPIN: sopin,
		Keys:       []softhsm.KeySpec{{Label: "rsa", ID: []byte{1}, Type: "RSA-2048", Subject: pkix.Name{CommonName: "Slow Signer"}}},
		ExtraCerts: []*x509.Certificate{ca.Cert}}, ca)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := store.BuildSlowModule(dir, delay)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range slow.Env() {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	p, err := token.Open([]string{slow.Path}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s, err := p.Login(tok.Serial, []byte(pin))
	if err != nil {
		t.Fatalf("login through the slow module: %v", err)
	}
	defer s.Close()
	k, err := s.Key([]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	sessions := []*token.Session{s}
	for range 3 {
		f, err := s.Fork()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sessions = append(sessions, f)
	}
	digest := sha256.Sum256([]byte("surat"))
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(sessions))
	for i, sess := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sig, err := sess.Sign(k, digest[:], crypto.SHA256, nil)
			if err == nil {
				err = rsa.VerifyPKCS1v15(tok.Certs[0].PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Errorf("session %d: %v", i, err)
		}
	}
	// A lower bound only: four signatures on one "card" cannot overlap.
	if min := time.Duration(len(sessions)) * delay; took < min {
		t.Errorf("%d signatures took %v; one at a time they take at least %v", len(sessions), took, min)
	}
}
