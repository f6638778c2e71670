package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/token"
	"github.com/tte-agent/tte-agent/token/softhsm"
)

// tokenSigner is a token key as crypto.Signer, for crypto/tls.
type tokenSigner struct {
	s   *token.Session
	k   *token.Key
	pub crypto.PublicKey
}

func (t tokenSigner) Public() crypto.PublicKey { return t.pub }
func (t tokenSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return t.s.Sign(t.k, digest, opts, nil)
}

// TestTLSClientAuthentication: a TLS handshake in which the client proves
// itself with the token's key through PKCS#11 — RSA (PSS under TLS 1.3)
// and P-256 — against openssl s_server, which requires a client
// certificate from the token's CA and names it.
func TestTLSClientAuthentication(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed: run scripts/install-deps.sh test")
	}
	// An ASN certificate serves TLS client use and e-mail protection.
	clientAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection}
	dir := t.TempDir()
	store, err := softhsm.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", store.Conf)
	ca, _ := softhsm.NewCA(pkix.Name{CommonName: "BSrE Uji"})
	tok, err := store.CreateToken(softhsm.TokenSpec{Label: "tls", PIN: pin, SOPIN: sopin, Keys: []softhsm.KeySpec{
		{Label: "rsa", ID: []byte{1}, Type: "RSA-2048", Subject: pkix.Name{CommonName: "Budi TLS RSA"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: clientAuth},
		{Label: "ec", ID: []byte{2}, Type: "EC-P256", Subject: pkix.Name{CommonName: "Budi TLS EC"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: clientAuth},
	}}, ca)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	softhsm.WriteCertPEM(caFile, ca.Cert)
	// The server's own certificate.
	sk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	sder, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &sk.PublicKey, sk)
	skDER, _ := x509.MarshalPKCS8PrivateKey(sk)
	os.WriteFile(filepath.Join(dir, "srv.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sder}), 0o600)
	os.WriteFile(filepath.Join(dir, "srv.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: skDER}), 0o600)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	srv := exec.Command("openssl", "s_server", "-accept", addr, "-cert", filepath.Join(dir, "srv.pem"), "-key", filepath.Join(dir, "srv.key"),
		"-Verify", "1", "-verify_return_error", "-CAfile", caFile, "-www", "-naccept", "2")
	var srvErr strings.Builder
	srv.Stderr, srv.Stdout = &srvErr, &srvErr
	// s_server ends at the end of its standard input: keep it open.
	stdin, _ := srv.StdinPipe()
	defer stdin.Close()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	// The handshakes below retry until the server listens: a probe
	// connection would use up one of its -naccept.
	p, err := token.Open([]string{store.Module}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s, err := p.Login(tok.Serial, []byte(pin))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	roots := x509.NewCertPool()
	roots.AddCert(mustParse(t, sder))
	for i, cert := range tok.Certs {
		k, err := s.Key([]byte{byte(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		deadline := time.Now().Add(testscale.D(15 * time.Second))
		for {
			conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1",
				Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: tokenSigner{s, k, cert.PublicKey}}}})
			if err == nil {
				fmt.Fprint(conn, "GET / HTTP/1.0\r\n\r\n")
				body, err = io.ReadAll(conn)
				conn.Close()
			}
			if err == nil || time.Now().After(deadline) {
				if err != nil {
					t.Fatalf("%s: %v\nopenssl s_server said:\n%s", cert.Subject.CommonName, err, srvErr.String())
				}
				break
			}
			time.Sleep(testscale.D(100 * time.Millisecond))
		}
		if !strings.Contains(string(body), "Client certificate") || !strings.Contains(string(body), cert.Subject.CommonName) {
			t.Errorf("%s: the server does not name the client certificate:\n%.1500s", cert.Subject.CommonName, body)
		}
	}
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
