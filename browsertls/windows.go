package browsertls

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// On Windows, Chrome and Edge take client certificates from the Windows
// certificate store: a token's certificate is offered when it is in the
// user's personal store ("MY") with its key reachable through a key
// provider — which the token vendor's smart card minidriver gives (the
// Certificate Propagation service copies the card's certificates there
// when it is inserted). Firefox uses its own NSS databases, into which a
// PKCS#11 module is loaded by its profile's pkcs11.txt or by the
// SecurityDevices policy.

// Windows is what a Windows machine offers browsers for TLS client
// authentication with the token.
type Windows struct {
	// Minidrivers maps the smart card types that have a registered
	// minidriver (HKLM\SOFTWARE\Microsoft\Cryptography\Calais\SmartCards,
	// value 80000001) to its DLL.
	Minidrivers map[string]string
	// InStore maps the SHA-256 (hex) of each token certificate found in
	// the user's personal store with key provider information to that
	// provider's name.
	InStore map[string]string
	// FirefoxPolicy are the libraries Firefox's SecurityDevices policy
	// loads (HKLM and HKCU, both of its forms).
	FirefoxPolicy []string
	// FirefoxProfiles are the Firefox profiles' NSS databases.
	FirefoxProfiles []DB
}

// Finding is one line of a report: what works, or what does not and how
// to fix it.
type Finding struct {
	OK   bool
	Text string
	Fix  string
}

// CertificateKey is how Windows.InStore names a certificate.
func CertificateKey(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// loads reports whether one of libs is one of the configured modules.
func loads(libs, modules []string) bool {
	for _, l := range libs {
		for _, m := range modules {
			if strings.EqualFold(l, m) || strings.EqualFold(filepath.Base(strings.ReplaceAll(l, `\`, "/")), filepath.Base(strings.ReplaceAll(m, `\`, "/"))) {
				return true
			}
		}
	}
	return false
}

// Report says whether Chrome/Edge and Firefox can use the token's
// certificates (certs; none when no token is present) with the configured
// PKCS#11 modules for TLS client authentication.
func (w Windows) Report(certs []*x509.Certificate, modules []string) []Finding {
	var out []Finding
	var found []string
	for _, c := range certs {
		if prov, ok := w.InStore[CertificateKey(c)]; ok {
			found = append(found, fmt.Sprintf("%s (key through %s)", c.Subject.CommonName, prov))
		}
	}
	names := make([]string, 0, len(w.Minidrivers))
	for n := range w.Minidrivers {
		names = append(names, n)
	}
	sort.Strings(names)
	switch {
	case len(found) > 0:
		out = append(out, Finding{OK: true, Text: "Chrome and Edge can use the token for TLS client authentication: " + strings.Join(found, ", ") + " is in your Windows certificate store"})
	case len(names) == 0:
		out = append(out, Finding{Text: "Chrome and Edge cannot use the token to log in to sites that ask for a certificate: no smart card minidriver is registered, so Windows does not see the token's keys",
			Fix: "install the token vendor's minidriver (the token's Windows driver package), then insert the token"})
	case len(certs) == 0:
		out = append(out, Finding{OK: true, Text: "a smart card minidriver is registered (" + strings.Join(names, ", ") + "); insert the token to check its certificates"})
	default:
		out = append(out, Finding{Text: "Chrome and Edge cannot offer the token's certificate: a minidriver is registered (" + strings.Join(names, ", ") + ") but the certificate is not in your personal certificate store",
			Fix: "remove and insert the token (the Certificate Propagation service copies its certificates), or check that the minidriver is the token's"})
	}
	ff := slices.ContainsFunc(w.FirefoxProfiles, func(db DB) bool { return loads(db.Modules, modules) })
	switch {
	case loads(w.FirefoxPolicy, modules):
		out = append(out, Finding{OK: true, Text: "Firefox loads the token's module (SecurityDevices policy)"})
	case ff:
		out = append(out, Finding{OK: true, Text: "Firefox loads the token's module (profile)"})
	case len(w.FirefoxProfiles) > 0:
		out = append(out, Finding{Text: "Firefox cannot use the token to log in to sites that ask for a certificate: it does not load the token's module",
			Fix: "run `tte-agent browser-setup` (then restart Firefox)"})
	}
	return out
}
