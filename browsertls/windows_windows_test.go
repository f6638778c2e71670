package browsertls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

var setCertProperty = crypt32.NewProc("CertSetCertificateContextProperty")

// TestReadWindows (Windows, or wine — installer/windows runs it): a
// registered minidriver, a token certificate in the user's store with its
// key on a smart card provider, and Firefox's module registered by
// SetupFirefox are each read back, and the report says Chrome, Edge and
// Firefox can use the token.
func TestReadWindows(t *testing.T) {
	// A minidriver registered as vendors' installers do.
	card := `tte-agent test card ` + time.Now().Format("150405.000")
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, smartCards+`\`+card, registry.SET_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	k.SetStringValue("80000001", "ttetestmd.dll")
	k.Close()
	defer registry.DeleteKey(registry.LOCAL_MACHINE, smartCards+`\`+card)

	// The token's certificate, as the Certificate Propagation service puts
	// it in the user's store: with key provider information.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "Siti Rahmawati"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	other, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	otherCert, _ := x509.ParseCertificate(other)

	w, err := ReadWindows([]*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	if w.Minidrivers[card] != "ttetestmd.dll" {
		t.Errorf("the minidriver is not read: %v", w.Minidrivers)
	}
	if _, ok := w.InStore[CertificateKey(cert)]; ok {
		t.Fatal("a certificate not in the store was found")
	}

	store, err := windows.CertOpenSystemStore(0, windows.StringToUTF16Ptr("MY"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, &der[0], uint32(len(der)))
	if err != nil {
		t.Fatal(err)
	}
	var added *windows.CertContext
	if err := windows.CertAddCertificateContextToStore(store, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, &added); err != nil {
		t.Fatal(err)
	}
	prov := "Microsoft Smart Card Key Storage Provider"
	info := cryptKeyProvInfo{ContainerName: windows.StringToUTF16Ptr("tte-test"), ProvName: windows.StringToUTF16Ptr(prov)}
	if r, _, err := setCertProperty.Call(uintptr(unsafe.Pointer(added)), certKeyProvInfo, 0, uintptr(unsafe.Pointer(&info))); r == 0 {
		t.Fatalf("CertSetCertificateContextProperty: %v", err)
	}
	// Wine writes a system store's changes to the registry when the store
	// closes; Windows at once. Closed here, they are there for both.
	windows.CertFreeCertificateContext(added)
	windows.CertFreeCertificateContext(ctx)
	if err := windows.CertCloseStore(store, 0); err != nil {
		t.Fatal(err)
	}
	defer removeFromStore(der)

	if err := SetupFirefox("tte-agent token", `C:\Windows\System32\eps2003csp11.dll`); err != nil {
		t.Fatal(err)
	}
	defer registry.DeleteKey(registry.CURRENT_USER, firefoxDevices+`\Add`)

	w, err = ReadWindows([]*x509.Certificate{cert, otherCert})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.InStore[CertificateKey(cert)]; got != prov {
		t.Errorf("the certificate in the store: provider %q, want %q (%v)", got, prov, w.InStore)
	}
	if _, ok := w.InStore[CertificateKey(otherCert)]; ok {
		t.Error("a certificate not in the store was found")
	}
	report := w.Report([]*x509.Certificate{cert}, []string{`C:\Windows\System32\eps2003csp11.dll`})
	var text []string
	for _, f := range report {
		if !f.OK {
			t.Errorf("not ok: %s", f.Text)
		}
		text = append(text, f.Text)
	}
	all := strings.Join(text, "\n")
	if !strings.Contains(all, "Chrome and Edge can use the token") || !strings.Contains(all, "Firefox loads the token's module (SecurityDevices policy)") {
		t.Errorf("the report:\n%s", all)
	}
}

// removeFromStore deletes a certificate from the user's store.
func removeFromStore(der []byte) {
	store, err := windows.CertOpenSystemStore(0, windows.StringToUTF16Ptr("MY"))
	if err != nil {
		return
	}
	defer windows.CertCloseStore(store, 0)
	var ctx *windows.CertContext
	for {
		if ctx, err = windows.CertEnumCertificatesInStore(store, ctx); err != nil || ctx == nil {
			return
		}
		if string(unsafe.Slice(ctx.EncodedCert, ctx.Length)) == string(der) {
			// Deleting frees the context: the enumeration ends here.
			windows.CertDeleteCertificateFromStore(ctx)
			return
		}
	}
}
