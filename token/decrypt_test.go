package token_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"

	"github.com/tte-agent/tte-agent/envelope"
	"github.com/tte-agent/tte-agent/token"
	"github.com/tte-agent/tte-agent/token/softhsm"
)

// TestTokenOpensEnvelopes: documents encrypted to a token's certificates
// open with the token's keys — RSA by C_Decrypt (PKCS #1 v1.5, and OAEP
// with SHA-1, which is all SoftHSM does), P-256 by C_DeriveKey — and a
// wrong block fails instead of giving a key.
func TestTokenOpensEnvelopes(t *testing.T) {
	p, tok := newToken(t,
		softhsm.KeySpec{Label: "rsa", ID: []byte{1}, Type: "RSA-2048", Subject: pkix.Name{CommonName: "Budi"}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		softhsm.KeySpec{Label: "ec", ID: []byte{2}, Type: "EC-P256", Subject: pkix.Name{CommonName: "Siti"}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement})
	s, err := p.Login(tok.Serial, []byte(pin))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rk, err := s.Key([]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	ek, err := s.Key([]byte{2})
	if err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("Surat rahasia. "), 500)
	for _, opts := range []envelope.Options{{RSAPadding: envelope.RSAPKCS1v15}, {Cipher: envelope.AES256CBC, RSAPadding: envelope.RSAPKCS1v15}} {
		der, err := envelope.Encrypt(content, tok.Certs, opts)
		if err != nil {
			t.Fatal(err)
		}
		e, err := envelope.Parse(der)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Open(tok.Certs[0], token.RSADecrypter{Session: s, Key: rk, Pub: tok.Certs[0].PublicKey})
		if err != nil || !bytes.Equal(got, content) {
			t.Errorf("%+v: the RSA key on the token: %v", opts, err)
		}
		got, err = e.Open(tok.Certs[1], token.ECDHAgreer{Session: s, Key: ek})
		if err != nil || !bytes.Equal(got, content) {
			t.Errorf("%+v: the P-256 key on the token: %v", opts, err)
		}
	}
	// OAEP as SoftHSM has it.
	key := []byte("0123456789abcdef0123456789abcdef")
	ct, _ := rsa.EncryptOAEP(sha1.New(), rand.Reader, tok.Certs[0].PublicKey.(*rsa.PublicKey), key, nil)
	got, err := s.Decrypt(rk, ct, crypto.SHA1, nil)
	if err != nil || !bytes.Equal(got, key) {
		t.Errorf("OAEP-SHA-1 on the token: %v", err)
	}
	ct[10] ^= 1
	if got, err := s.Decrypt(rk, ct, crypto.SHA1, nil); err == nil {
		t.Errorf("a changed OAEP block decrypted to %x", got)
	}
	if _, err := s.ECDH(ek, []byte{4, 1, 2}, nil); err == nil {
		t.Error("ECDH with a point not on the curve")
	}
}
