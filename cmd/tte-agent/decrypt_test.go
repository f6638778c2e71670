package main

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/token/softhsm"
)

// TestDecryptCommand: `tte-agent encrypt` to the token's certificates,
// then `tte-agent decrypt` opens it through the running agent — its dialog
// (naming the command line), its token lock, its audit trail — for an RSA
// and an EC key; without a running agent it says to start one.
func TestDecryptCommand(t *testing.T) {
	dir := t.TempDir()
	store, err := softhsm.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", store.Conf)
	ca, _ := softhsm.NewCA(pkix.Name{CommonName: "CLI CA"})
	tok, err := store.CreateToken(softhsm.TokenSpec{Label: "Kartu ASN", PIN: "1111", SOPIN: "22222222", Keys: []softhsm.KeySpec{
		{Label: "rsa", ID: []byte{1}, Type: "RSA-2048", Subject: pkix.Name{CommonName: "Dewi (RSA)"}, KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature},
		{Label: "ec", ID: []byte{2}, Type: "EC-P256", Subject: pkix.Name{CommonName: "Dewi (EC)"}, KeyUsage: x509.KeyUsageKeyAgreement | x509.KeyUsageDigitalSignature},
	}}, ca)
	if err != nil {
		t.Fatal(err)
	}
	pin := filepath.Join(dir, "pinentry")
	log := filepath.Join(dir, "pinentry.log")
	os.WriteFile(pin, []byte("#!/bin/sh\necho 'OK ready'\nwhile read -r cmd rest; do\n  echo \"$cmd $rest\" >> "+log+"\n  case \"$cmd\" in\n    GETPIN) echo 'D 1111'; echo OK;;\n    BYE) echo OK; exit 0;;\n    *) echo OK;;\n  esac\ndone\n"), 0o700)
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("listen = %q\n[pkcs11]\nmodules = [%q]\n[pinentry]\nprogram = %q\n[audit]\npath = %q\n[uploads]\ndir = %q\n[metrics]\nlisten = \"\"\n[revocation]\nmode = \"off\"\n",
		freePort(t), store.Module, pin, filepath.Join(dir, "audit.log"), filepath.Join(dir, "spool"))), 0o600)
	content := []byte("Surat rahasia untuk Dewi.\n")
	in := filepath.Join(dir, "surat.txt")
	os.WriteFile(in, content, 0o600)
	var certs []string
	for i, c := range tok.Certs {
		p := filepath.Join(dir, fmt.Sprintf("dewi%d.pem", i))
		softhsm.WriteCertPEM(p, c)
		certs = append(certs, p)
	}

	// No agent: it says so.
	var out, errb bytes.Buffer
	if code := run([]string{"encrypt", "--config", cfg, "--to", certs[0], in}, &out, &errb); code != 0 {
		t.Fatalf("encrypt: %s", errb.String())
	}
	p7m := filepath.Join(dir, "surat.txt.p7m")
	os.WriteFile(p7m, out.Bytes(), 0o600)
	out.Reset()
	errb.Reset()
	if code := run([]string{"decrypt", "--config", cfg, p7m}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "not running") {
		t.Errorf("decrypt without an agent: %d %q", code, errb.String())
	}

	agent := exec.Command(os.Args[0], "run", "--config", cfg)
	agent.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1")
	agent.Stderr = os.Stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { agent.Process.Signal(os.Interrupt); agent.Wait() }()
	for deadline := time.Now().Add(testscale.D(10 * time.Second)); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "spool.sock")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent made no local channel")
		}
	}
	for i, cert := range certs {
		out.Reset()
		errb.Reset()
		// SoftHSM does RSA-OAEP with SHA-1 only: PKCS #1 v1.5 for the RSA key.
		if code := run([]string{"encrypt", "--config", cfg, "--rsa-padding", "RSA-PKCS1-v1_5", "--to", cert, in}, &out, &errb); code != 0 {
			t.Fatalf("encrypt to %s: %s", cert, errb.String())
		}
		os.WriteFile(p7m, out.Bytes(), 0o600)
		out.Reset()
		errb.Reset()
		if code := run([]string{"decrypt", "--config", cfg, p7m}, &out, &errb); code != 0 || !bytes.Equal(out.Bytes(), content) {
			t.Errorf("decrypt with key %d: code %d, %q, stderr %s", i, code, out.String(), errb.String())
		}
	}
	// A large document, held by the agent and read in pieces; and a BER
	// envelope as `openssl cms -stream` writes it (indefinite lengths,
	// the content in chunks), both decrypted as they are read.
	large := make([]byte, 6<<20+7)
	rand.Read(large)
	bigIn := filepath.Join(dir, "besar.bin")
	os.WriteFile(bigIn, large, 0o600)
	out.Reset()
	if code := run([]string{"encrypt", "--config", cfg, "--to", certs[1], bigIn}, &out, &errb); code != 0 {
		t.Fatalf("encrypt a large document: %s", errb.String())
	}
	os.WriteFile(p7m, out.Bytes(), 0o600)
	ber := filepath.Join(dir, "stream.p7m")
	if o, err := exec.Command("openssl", "cms", "-encrypt", "-stream", "-binary", "-aes-256-gcm", "-in", bigIn, "-outform", "DER", "-out", ber, "-recip", certs[1], "-keyopt", "ecdh_kdf_md:sha256").CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -encrypt -stream: %v\n%s", err, o)
	}
	for _, f := range []string{p7m, ber} {
		out.Reset()
		errb.Reset()
		if code := run([]string{"decrypt", "--config", cfg, f}, &out, &errb); code != 0 || !bytes.Equal(out.Bytes(), large) {
			t.Errorf("decrypt %s (%d MiB): code %d, %d bytes, stderr %s", filepath.Base(f), len(large)>>20, code, out.Len(), errb.String())
		}
	}
	dialog, _ := os.ReadFile(log)
	if !strings.Contains(string(dialog), "baris%0Aperintah") && !strings.Contains(string(dialog), "baris perintah") {
		t.Errorf("the dialog does not name the command line:\n%s", dialog)
	}
	trail, _ := os.ReadFile(filepath.Join(dir, "audit.log"))
	if strings.Count(string(trail), `"origin":"tte-agent:local","method":"document.decrypt"`) < 2 {
		t.Errorf("the trail lacks the openings:\n%.3000s", trail)
	}
}
