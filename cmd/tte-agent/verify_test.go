package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/revocation/revtest"
	"github.com/tte-agent/tte-agent/token/softhsm"
	"github.com/tte-agent/tte-agent/verify"
)

// signPDF signs a corpus PDF with a software key issued by p: a B-B
// signature as the agent makes it.
func signPDF(t *testing.T, p *revtest.PKI, name string) []byte {
	t.Helper()
	orig, err := os.ReadFile(filepath.Join("..", "..", "pades", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert, err := p.CA().Issue(key.Public(), softhsm.KeySpec{Subject: pkix.Name{CommonName: "Wayan Sudarma"}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := pades.Prepare(context.Background(), bytes.NewReader(orig), int64(len(orig)), pades.Options{Time: time.Now(), Name: "Wayan Sudarma", ContentsSize: 8192})
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := u.Digest(crypto.SHA256)
	sd, err := cms.Sign(digest, cert, key, cms.Options{Hash: crypto.SHA256, Chain: nil})
	if err != nil {
		t.Fatal(err)
	}
	der, _ := sd.Bytes()
	upd, err := u.Finish(der)
	if err != nil {
		t.Fatal(err)
	}
	return append(orig, upd...)
}

func TestVerifyCommand(t *testing.T) {
	p, err := revtest.Start(t.TempDir(), revtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[trust]\nanchors = [%q]\n", p.RootFile)), 0o600)
	good := filepath.Join(dir, "surat.pdf")
	os.WriteFile(good, signPDF(t, p, "cairo.pdf"), 0o600)
	data, _ := os.ReadFile(good)
	data[150] ^= 1
	bad := filepath.Join(dir, "diubah.pdf")
	os.WriteFile(bad, data, 0o600)

	var out, errb bytes.Buffer
	// Online: the intermediate by AIA, the status by OCSP.
	if code := run([]string{"verify", "--config", cfg, "--online", good}, &out, &errb); code != 0 {
		t.Fatalf("exit %d for a valid file\n%s%s", code, out.String(), errb.String())
	}
	for _, w := range []string{"SAH", "Penanda tangan: Wayan Sudarma", "Level: B-B", "diperiksa daring"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("the report lacks %q:\n%s", w, out.String())
		}
	}
	// Offline, the file alone cannot show the certificate unrevoked.
	out.Reset()
	if code := run([]string{"verify", "--config", cfg, good}, &out, &errb); code != 1 {
		t.Errorf("exit %d offline without revocation data, want 1\n%s", code, out.String())
	}
	// One invalid file among valid ones: exit 1; JSON names it.
	out.Reset()
	if code := run([]string{"verify", "--config", cfg, "--online", "--json", good, bad}, &out, &errb); code != 1 {
		t.Errorf("exit %d with a tampered file, want 1", code)
	}
	var reports []verify.Report
	if err := json.Unmarshal(out.Bytes(), &reports); err != nil {
		t.Fatalf("--json: %v\n%s", err, out.String())
	}
	if len(reports) != 2 || !reports[0].Valid || reports[1].Valid || reports[1].Signatures[0].Integrity.OK {
		t.Errorf("--json reports: %+v", reports)
	}
	out.Reset()
	if code := run([]string{"verify", "--config", cfg, "--online", "--lang", "en", bad}, &out, &errb); code != 1 || !strings.Contains(out.String(), "NOT VALID") {
		t.Errorf("exit %d, English report:\n%s", code, out.String())
	}
	if code := run([]string{"verify"}, &out, &errb); code != 2 {
		t.Errorf("exit %d without files, want 2", code)
	}
}
