package metrics

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"time"

	"golang.org/x/crypto/bcrypt"

	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o600)
		return p
	}
	selfSigned(t, filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"))
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	tlsOnly := file("tls.yml", "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n")
	usersOnly := file("users.yml", "basic_auth_users:\n  p: "+string(hash)+"\n")
	both := file("both.yml", "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\nbasic_auth_users:\n  p: "+string(hash)+"\n")
	bad := file("bad.yml", "tls_server_config:\n  certfile: c.pem\n")
	tests := []struct {
		listen, web string
		insecure    bool
		err         string
	}{
		{"127.0.0.1:14546", "", false, ""},
		{"[::1]:14546", "", false, ""},
		{"0.0.0.0:14546", "", true, ""},
		{"192.168.10.5:14546", "", true, ""},
		{"192.168.10.5:14546", tlsOnly, true, ""},
		{"192.168.10.5:14546", usersOnly, true, ""},
		{"192.168.10.5:14546", both, false, ""},
		{"127.0.0.1:14546", bad, false, "certfile"},
		{"no-port", "", false, "missing port"},
	}
	for _, tt := range tests {
		err := Check(tt.listen, tt.web)
		switch {
		case tt.insecure && !errors.Is(err, ErrInsecure):
			t.Errorf("Check(%s, %s) = %v, want ErrInsecure", tt.listen, filepath.Base(tt.web), err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Check(%s, %s) = %v, want %q", tt.listen, filepath.Base(tt.web), err, tt.err)
		case !tt.insecure && tt.err == "" && err != nil:
			t.Errorf("Check(%s, %s) = %v", tt.listen, filepath.Base(tt.web), err)
		}
	}
}

func selfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "m"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}
