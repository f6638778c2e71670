package agent_test

import (
	"bytes"
	"crypto/x509"
	"testing"

	"github.com/tte-agent/tte-agent/envelope"
	"github.com/tte-agent/tte-agent/protocol"
)

// TestOAEPOnOpenCryptoki: a document encrypted with RSA-OAEP and SHA-256
// (envelope's default, which SoftHSM cannot open) opens through the agent
// on openCryptoki's software token, whose C_Decrypt takes OAEP with
// SHA-256 and MGF1-SHA-256. Like TestPINLockout it runs in a fresh
// process (openCryptoki 3.8 crashes after SoftHSM was loaded and unloaded).
func TestOAEPOnOpenCryptoki(t *testing.T) {
	if inFreshProcess(t) {
		return
	}
	h := newHarness(t, harnessOpts{openCryptoki: true, extra: "[[origins]]\norigin = \"" + protectOrigin + "\"\nallow = [\"encrypt\", \"decrypt\"]\n"})
	c := h.dial(protectOrigin)
	// The harness's key on openCryptoki is a signing key; as a recipient
	// only its public key and issuer and serial matter to the envelope.
	recipient := *h.certs[0]
	recipient.KeyUsage |= x509.KeyUsageKeyEncipherment
	letter := bytes.Repeat([]byte("Nota dinas rahasia, OAEP-SHA-256.\n"), 100)
	for _, opts := range []envelope.Options{{}, {Cipher: envelope.AES256CBC}} {
		der, err := envelope.Encrypt(letter, []*x509.Certificate{&recipient}, opts)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := envelope.Parse(der)
		if r := e.Recipients[0]; r.Padding != envelope.RSAOAEP || r.OAEPHash.String() != "SHA-256" {
			t.Fatalf("not OAEP-SHA-256: %+v", r)
		}
		dec := mustCall[protocol.DocumentDecryptResult](c, "document.decrypt", map[string]any{"items": []any{map[string]any{"uploadId": c.upload("nota.p7m", der, 4096)}}})
		if !bytes.Equal(dec.Items[0].Content, letter) {
			t.Errorf("%+v: opened on openCryptoki, the content differs", opts)
		}
	}
}
