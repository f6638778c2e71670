package browsertls

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// ErrNotWindows means a Windows-only check on another system.
var ErrNotWindows = errors.New("only on Windows")

const (
	smartCards     = `SOFTWARE\Microsoft\Cryptography\Calais\SmartCards`
	firefoxDevices = `SOFTWARE\Policies\Mozilla\Firefox\SecurityDevices`
	// certKeyProvInfo is CERT_KEY_PROV_INFO_PROP_ID.
	certKeyProvInfo = 2
)

var (
	crypt32         = windows.NewLazySystemDLL("crypt32.dll")
	getCertProperty = crypt32.NewProc("CertGetCertificateContextProperty")
)

// cryptKeyProvInfo is CRYPT_KEY_PROV_INFO.
type cryptKeyProvInfo struct {
	ContainerName *uint16
	ProvName      *uint16
	ProvType      uint32
	Flags         uint32
	ProvParams    uint32
	ProvParam     uintptr
	KeySpec       uint32
}

// ReadWindows reads the registered minidrivers, which of certs are in the
// user's personal store with a key provider, and what Firefox loads.
func ReadWindows(certs []*x509.Certificate) (Windows, error) {
	w := Windows{Minidrivers: map[string]string{}, InStore: map[string]string{}}
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, smartCards, registry.READ); err == nil {
		names, _ := k.ReadSubKeyNames(-1)
		for _, n := range names {
			if c, err := registry.OpenKey(k, n, registry.QUERY_VALUE); err == nil {
				if dll, _, err := c.GetStringValue("80000001"); err == nil && dll != "" {
					w.Minidrivers[n] = dll
				}
				c.Close()
			}
		}
		k.Close()
	}
	if err := w.readStore(certs); err != nil {
		return w, err
	}
	for _, root := range []registry.Key{registry.LOCAL_MACHINE, registry.CURRENT_USER} {
		for _, path := range []string{firefoxDevices, firefoxDevices + `\Add`} {
			k, err := registry.OpenKey(root, path, registry.READ)
			if err != nil {
				continue
			}
			names, _ := k.ReadValueNames(-1)
			for _, n := range names {
				if lib, _, err := k.GetStringValue(n); err == nil {
					w.FirefoxPolicy = append(w.FirefoxPolicy, lib)
				}
			}
			k.Close()
		}
	}
	if appdata := os.Getenv("APPDATA"); appdata != "" {
		profiles, _ := filepath.Glob(filepath.Join(appdata, "Mozilla", "Firefox", "Profiles", "*", "pkcs11.txt"))
		slices.Sort(profiles)
		for _, p := range profiles {
			if db, err := read("Firefox ("+filepath.Base(filepath.Dir(p))+")", filepath.Dir(p)); err == nil {
				w.FirefoxProfiles = append(w.FirefoxProfiles, db)
			}
		}
	}
	return w, nil
}

// readStore finds certs in the current user's "MY" store and the key
// provider each names.
func (w *Windows) readStore(certs []*x509.Certificate) error {
	if len(certs) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, c := range certs {
		want[CertificateKey(c)] = true
	}
	store, err := windows.CertOpenSystemStore(0, windows.StringToUTF16Ptr("MY"))
	if err != nil {
		return err
	}
	defer windows.CertCloseStore(store, 0)
	var ctx *windows.CertContext
	for {
		ctx, err = windows.CertEnumCertificatesInStore(store, ctx)
		if err != nil || ctx == nil {
			return nil // the end of the store
		}
		der := unsafe.Slice(ctx.EncodedCert, ctx.Length)
		c, err := x509.ParseCertificate(der)
		if err != nil || !want[CertificateKey(c)] {
			continue
		}
		if prov := keyProvider(ctx); prov != "" {
			w.InStore[CertificateKey(c)] = prov
		}
	}
}

// keyProvider is the provider named by the certificate's key provider
// information, "" when it has none (no key: no client authentication).
func keyProvider(ctx *windows.CertContext) string {
	var n uint32
	if r, _, _ := getCertProperty.Call(uintptr(unsafe.Pointer(ctx)), certKeyProvInfo, 0, uintptr(unsafe.Pointer(&n))); r == 0 || n < uint32(unsafe.Sizeof(cryptKeyProvInfo{})) {
		return ""
	}
	buf := make([]uint64, (n+7)/8) // aligned for the struct and its strings
	if r, _, _ := getCertProperty.Call(uintptr(unsafe.Pointer(ctx)), certKeyProvInfo, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n))); r == 0 {
		return ""
	}
	info := (*cryptKeyProvInfo)(unsafe.Pointer(&buf[0]))
	if info.ProvName == nil {
		return "a key provider"
	}
	return windows.UTF16PtrToString(info.ProvName)
}

// SetupFirefox makes Firefox load a PKCS#11 module for the current user,
// through its SecurityDevices policy (HKCU, the Add form): no administrator
// needed, and the module is loaded into every profile.
func SetupFirefox(name, lib string) error {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, firefoxDevices+`\Add`, registry.SET_VALUE)
	if err != nil {
		return err
	}
	defer k.Close()
	return k.SetStringValue(name, lib)
}
