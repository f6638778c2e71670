package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/browserpolicy"
)

// selfSigned writes a TLS certificate and key for the metrics listener.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pc-bu-01.kota.go.id"}, DNSNames: []string{"pc-bu-01.kota.go.id"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "metrics.crt"), filepath.Join(dir, "metrics.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// policy write covers what a rollout sets: origins, modules, users, the
// port range, trust, the TSA, revocation, and a LAN metrics listener with
// its TLS certificate and scraper user; the result loads as the agent
// loads it, and nothing invalid replaces a working policy.
func TestPolicyWriteRollout(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.toml")
	browsers := filepath.Join(dir, "root")
	t.Setenv("TTE_BROWSER_ROOT", browsers)
	certFile, keyFile := selfSigned(t, dir)
	anchor := filepath.Join(dir, "bsre-root.pem")
	os.WriteFile(anchor, mustRead(t, certFile), 0o644)
	hash, _ := bcrypt.GenerateFromPassword([]byte("rahasia"), 10)
	var out, errb bytes.Buffer
	args := []string{"policy", "write", "--path", path,
		"--origins", "https://eoffice.kota.go.id,https://arsip.kota.go.id=documents+digest",
		"--modules", "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so",
		"--allow-users", "root", "--listen-ports", "16",
		"--trust-anchors", anchor, "--tsa-url", "http://tsa.kota.go.id/", "--revocation", "require",
		"--metrics-listen", "0.0.0.0:14546", "--metrics-cert", certFile, "--metrics-key", keyFile,
		"--metrics-user", "prometheus", "--metrics-password-hash", string(hash)}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("policy write: %d\n%s%s", code, out.String(), errb.String())
	}
	cfg, err := config.LoadWithPolicy("", path)
	if err != nil {
		t.Fatalf("the written policy does not load: %v", err)
	}
	web := filepath.Join(dir, "metrics-web.yml")
	if len(cfg.Origins) != 2 || cfg.Origins[1].Allow[1] != "digest" || cfg.PKCS11.Modules[0] != "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so" ||
		cfg.ListenPorts != 16 || cfg.TSA.URL != "http://tsa.kota.go.id/" || cfg.Revocation.Mode != "require" || len(cfg.Trust.Anchors) != 1 ||
		*cfg.Metrics.Listen != "0.0.0.0:14546" || cfg.Metrics.WebConfig != web {
		t.Errorf("the policy does not say what was given: %+v", cfg)
	}
	if data := string(mustRead(t, path)); !strings.Contains(data, "allow_users = ['root']") {
		t.Errorf("allow_users missing:\n%s", data)
	}
	if data := string(mustRead(t, web)); !strings.Contains(data, "prometheus") || strings.Contains(data, "rahasia") {
		t.Errorf("the web config:\n%s", data)
	}
	// The browsers' policies name the same origins.
	for _, b := range browserpolicy.Browsers {
		c, err := browserpolicy.Files{Root: browsers}.Coverage(b)
		if err != nil {
			t.Fatal(err)
		}
		if m := c.Missing([]string{"https://eoffice.kota.go.id", "https://arsip.kota.go.id"}); len(m) > 0 {
			t.Errorf("%s: policy write left %v out of the browser policy", b.Name, m)
		}
	}
	// A LAN listener without a user is refused; the working policy stays.
	before := mustRead(t, path)
	out.Reset()
	errb.Reset()
	if code := run([]string{"policy", "write", "--path", path, "--origins", "https://x.go.id", "--metrics-listen", "0.0.0.0:14546"}, &out, &errb); code == 0 ||
		!strings.Contains(errb.String(), "nothing written") {
		t.Errorf("an unprotected LAN listener was written: %s%s", out.String(), errb.String())
	}
	if !bytes.Equal(before, mustRead(t, path)) {
		t.Error("a refused policy replaced the working one")
	}
	if code := run([]string{"policy", "write", "--path", path, "--metrics-cert", certFile, "--metrics-key", keyFile, "--metrics-user", "p", "--metrics-password-hash", "rahasia"}, &out, &errb); code == 0 {
		t.Error("a clear-text password was taken for a hash")
	}
	if code := run([]string{"policy", "remove", "--path", path}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	for _, f := range []string{path, web, filepath.Join(browsers, browserpolicy.Browsers[0].Dir, browserpolicy.FileName)} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s is left after policy remove", f)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
