package agent_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/envelope"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/token/softhsm"
)

const protectOrigin = "https://amankan.example.go.id"

var (
	encRSAID = []byte{0x05}
	encECID  = []byte{0x06}
)

func protectHarness(t *testing.T) *harness {
	return newHarness(t, harnessOpts{
		keys: []softhsm.KeySpec{
			{Label: "enc-rsa", ID: encRSAID, Type: "RSA-2048", Subject: pkix.Name{CommonName: "Budi Santoso (enkripsi)"}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
			{Label: "enc-ec", ID: encECID, Type: "EC-P256", Subject: pkix.Name{CommonName: "Budi Santoso (EC)"}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement},
		},
		extra: "[[origins]]\norigin = \"" + protectOrigin + "\"\nallow = [\"encrypt\", \"decrypt\"]\n",
	})
}

// certByKey is the certificate of a key of the harness token, whose
// certificates come in its keys' order.
func (h *harness) certByKey(id []byte) *x509.Certificate {
	return h.certs[map[byte]int{0x01: 0, 0x02: 1, 0x03: 2, 0x04: 3, 0x05: 4, 0x06: 5}[id[0]]]
}

// TestDocumentProtection: a page encrypts a letter to two colleagues'
// certificates (RSA and EC) with no dialog; the token then opens it
// through one dialog that names the site and says the content goes to it
// — by C_Decrypt for the RSA key, C_DeriveKey for the EC key; a document
// not encrypted to the tokens is certificate_not_found before any dialog;
// a changed one, or a page without the capability, is refused; the trail
// records the opening.
func TestDocumentProtection(t *testing.T) {
	h := protectHarness(t)
	c := h.dial(protectOrigin)
	letter := []byte(strings.Repeat("Nota dinas rahasia: anggaran 2027.\n", 200))
	id := c.upload("nota.txt", letter, 1000)
	rsaCert, ecCert := h.certByKey(encRSAID), h.certByKey(encECID)
	shownBefore := len(h.fake.Shown(t))
	enc := mustCall[protocol.DocumentEncryptResult](c, "document.encrypt", map[string]any{
		"items": []any{map[string]any{"uploadId": id}}, "recipients": [][]byte{rsaCert.Raw, ecCert.Raw}, "rsaPadding": "RSA-PKCS1-v1_5"})
	if len(h.fake.Shown(t)) != shownBefore {
		t.Error("encrypting showed a dialog")
	}
	env := enc.Items[0].Envelope
	if e, err := envelope.Parse(env); err != nil || len(e.Recipients) != 2 || !e.Auth {
		t.Fatalf("the envelope: %v", err)
	}
	for _, certID := range []string{"", h.certID(encECID)} {
		eid := c.upload("nota.txt.p7m", env, 4096)
		params := map[string]any{"items": []any{map[string]any{"uploadId": eid}}}
		if certID != "" {
			params["certificateId"] = certID
		}
		dec := mustCall[protocol.DocumentDecryptResult](c, "document.decrypt", params)
		if !bytes.Equal(dec.Items[0].Content, letter) {
			t.Errorf("decrypt with %q: the content differs", certID)
		}
		if certID != "" && dec.CertificateID != certID || certID == "" && dec.CertificateID != h.certID(encRSAID) {
			t.Errorf("opened with %s, asked %q", dec.CertificateID, certID)
		}
	}
	shown := h.fake.Shown(t)
	if len(shown) != shownBefore+2 {
		t.Fatalf("%d dialogs for two openings", len(shown)-shownBefore)
	}
	d := shown[len(shown)-1]
	for _, want := range []string{protectOrigin, "membuka dokumen yang dienkripsi", "nota.txt.p7m", "Isinya akan diberikan kepada situs ini", "Budi Santoso (EC)"} {
		if !strings.Contains(d.Title+d.Desc, want) {
			t.Errorf("the dialog lacks %q:\n%s\n%s", want, d.Title, d.Desc)
		}
	}

	// Encrypted to someone else: refused before any dialog.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "Orang Lain"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageKeyAgreement}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	other, _ := x509.ParseCertificate(der)
	foreign, _ := envelope.Encrypt(letter, []*x509.Certificate{other}, envelope.Options{})
	_, perr := c.call("document.decrypt", map[string]any{"items": []any{map[string]any{"uploadId": c.upload("lain.p7m", foreign, 4096)}}})
	wantError(t, perr, protocol.ReasonCertificateNotFound)
	// Changed after encryption: the dialog was answered, nothing opens.
	changed := bytes.Clone(env)
	changed[len(changed)-20] ^= 1
	_, perr = c.call("document.decrypt", map[string]any{"items": []any{map[string]any{"uploadId": c.upload("ubah.p7m", changed, 4096)}}})
	wantError(t, perr, protocol.ReasonBadRequest)
	if len(h.fake.Shown(t)) != shownBefore+3 {
		t.Errorf("dialogs: %d, want one more for the changed document only", len(h.fake.Shown(t))-shownBefore)
	}
	// Not a recipient for encryption: a signing-only certificate.
	_, perr = c.call("document.encrypt", map[string]any{"items": []any{map[string]any{"uploadId": c.upload("x.txt", letter, 4096)}}, "recipients": [][]byte{h.certByKey(rsaID).Raw}})
	wantError(t, perr, protocol.ReasonCertificateInvalid)
	// A page allowed to sign but not to open documents.
	sc := h.dial(testOrigin)
	_, perr = sc.call("document.decrypt", map[string]any{"items": []any{map[string]any{"uploadId": 1}}})
	wantError(t, perr, protocol.ReasonNotPermitted)
	// The trail has the opening, with the envelope's digest.
	trail, _ := os.ReadFile(h.auditPath())
	if !strings.Contains(string(trail), `"method":"document.decrypt"`) || !strings.Contains(string(trail), "nota.txt.p7m") {
		t.Errorf("the audit trail lacks the opening:\n%.2000s", trail)
	}
}
