package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tte-agent/tte-agent/envelope"
	"github.com/tte-agent/tte-agent/revocation/revtest"
	"github.com/tte-agent/tte-agent/token/softhsm"
)

// TestEncryptCommand: `tte-agent encrypt` writes an envelope each
// recipient opens with their own key, and checks every recipient first: a
// revoked certificate, one for signing only, or (under mode require) one
// whose status cannot be had is refused with nothing written; mode prefer
// warns and encrypts.
func TestEncryptCommand(t *testing.T) {
	dir := t.TempDir()
	pki, err := revtest.Start(dir, revtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pki.Close()
	ca := pki.CA()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	issue := func(name string, pub any, usage x509.KeyUsage) (*x509.Certificate, string) {
		c, err := ca.Issue(pub, softhsm.KeySpec{Subject: pkix.Name{CommonName: name}, KeyUsage: usage})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".pem")
		softhsm.WriteCertPEM(path, c)
		return c, path
	}
	budi, budiPEM := issue("Budi", &rsaKey.PublicKey, x509.KeyUsageKeyEncipherment|x509.KeyUsageDigitalSignature)
	siti, sitiPEM := issue("Siti", &ecKey.PublicKey, x509.KeyUsageKeyAgreement|x509.KeyUsageDigitalSignature)
	gone, gonePEM := issue("Mantan", &rsaKey.PublicKey, x509.KeyUsageKeyEncipherment)
	pki.Revoke(gone, 1)
	_, signPEM := issue("Hanya Tanda Tangan", &rsaKey.PublicKey, x509.KeyUsageDigitalSignature)
	in := filepath.Join(dir, "surat.txt")
	content := []byte("Surat rahasia: rapat anggaran.")
	os.WriteFile(in, content, 0o600)
	config := func(mode string) string {
		p := filepath.Join(dir, mode+".toml")
		os.WriteFile(p, []byte(fmt.Sprintf("[trust]\nanchors = [%q]\n[revocation]\nmode = %q\n[uploads]\ndir = %q\n[metrics]\nlisten = \"\"\n", pki.RootFile, mode, filepath.Join(dir, "spool"))), 0o600)
		return p
	}
	require := config("require")

	var out, errb bytes.Buffer
	if code := run([]string{"encrypt", "--config", require, "--to", budiPEM, "--to", sitiPEM, in}, &out, &errb); code != 0 {
		t.Fatalf("encrypt to two good recipients: %d %s", code, errb.String())
	}
	e, err := envelope.Parse(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	ecdhKey, _ := ecKey.ECDH()
	for _, r := range []struct {
		cert *x509.Certificate
		key  any
	}{{budi, rsaKey}, {siti, ecdhKey}} {
		if got, err := e.Open(r.cert, r.key); err != nil || !bytes.Equal(got, content) {
			t.Errorf("%s cannot open it: %v", r.cert.Subject.CommonName, err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", gonePEM}, "revoked"},
		{[]string{"--to", signPEM}, "keyEncipherment"},
		{[]string{"--to", budiPEM, "--cipher", "DES"}, "unknown envelope option"},
	} {
		out.Reset()
		errb.Reset()
		args := append(append([]string{"encrypt", "--config", require}, c.args...), in)
		if code := run(args, &out, &errb); code == 0 || !strings.Contains(errb.String(), c.want) || out.Len() != 0 {
			t.Errorf("%v: code %d, %d bytes out, stderr %q; want a refusal saying %q", c.args, code, out.Len(), errb.String(), c.want)
		}
	}
	// The status cannot be had: require refuses, prefer warns.
	pki.SetOCSP(revtest.Down)
	pki.SetCRL(revtest.Down)
	out.Reset()
	errb.Reset()
	if code := run([]string{"encrypt", "--config", require, "--to", budiPEM, in}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "cannot be checked") {
		t.Errorf("require without a status: %d %q", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"encrypt", "--config", config("prefer"), "--to", budiPEM, in}, &out, &errb); code != 0 || out.Len() == 0 || !strings.Contains(errb.String(), "not checked for revocation") {
		t.Errorf("prefer without a status: %d, %d bytes, %q", code, out.Len(), errb.String())
	}
}
