package tsa_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/tsa"
	"github.com/tte-agent/tte-agent/tsa/tsatest"
)

func TestStampVerifiesWithOpenSSL(t *testing.T) {
	srv := tsatest.Start(t)
	d := sha256.Sum256([]byte("nilai tanda tangan"))
	tok, err := tsa.New(srv.URL).Stamp(context.Background(), crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "token.der")
	os.WriteFile(f, tok, 0o600)
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed: run scripts/install-deps.sh")
	}
	out, err := exec.Command("openssl", "ts", "-verify", "-token_in", "-in", f, "-digest", hex.EncodeToString(d[:]),
		"-CAfile", srv.CAFile, "-untrusted", srv.CertFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
	other := sha256.Sum256([]byte("lain"))
	if out, err := exec.Command("openssl", "ts", "-verify", "-token_in", "-in", f, "-digest", hex.EncodeToString(other[:]),
		"-CAfile", srv.CAFile, "-untrusted", srv.CertFile).CombinedOutput(); err == nil {
		t.Fatalf("the token verified for another digest:\n%s", out)
	}
}

func TestStampRefusesBadAnswers(t *testing.T) {
	srv := tsatest.Start(t)
	d := sha256.Sum256([]byte("x"))
	for _, f := range []tsatest.Fault{tsatest.WrongDigest, tsatest.WrongNonce, tsatest.Refuse, tsatest.Garbage, tsatest.HTTPError} {
		srv.SetFault(f)
		if _, err := tsa.New(srv.URL).Stamp(context.Background(), crypto.SHA256, d[:]); !errors.Is(err, tsa.ErrFailed) {
			t.Errorf("%s: err = %v, want ErrFailed", f, err)
		}
	}
	if _, err := tsa.New("http://127.0.0.1:1/tsa").Stamp(context.Background(), crypto.SHA256, d[:]); !errors.Is(err, tsa.ErrFailed) {
		t.Errorf("unreachable TSA: %v", err)
	}
}

// Server errors are retried (three attempts); a wrong answer is not.
func TestStampRetries(t *testing.T) {
	srv := tsatest.Start(t)
	d := sha256.Sum256([]byte("x"))
	c := tsa.New(srv.URL)
	c.Backoff = time.Millisecond
	srv.SetFault(tsatest.HTTPError)
	_, err := c.Stamp(context.Background(), crypto.SHA256, d[:])
	if !errors.Is(err, tsa.ErrFailed) || !strings.Contains(err.Error(), "HTTP 500") || srv.Count() != 3 {
		t.Fatalf("err %v after %d requests, want 3 attempts", err, srv.Count())
	}
	srv.SetFault(tsatest.WrongNonce)
	c.Stamp(context.Background(), crypto.SHA256, d[:])
	if srv.Count() != 4 {
		t.Fatalf("a wrong answer was retried: %d requests", srv.Count())
	}
	srv.SetFault(tsatest.OK)
	if _, err := c.Stamp(context.Background(), crypto.SHA256, d[:]); err != nil {
		t.Fatal(err)
	}
}
