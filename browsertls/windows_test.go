package browsertls

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
)

// TestWindowsReport: what doctor says on Windows, for each state of the
// minidriver, the certificate store and Firefox.
func TestWindowsReport(t *testing.T) {
	cert := &x509.Certificate{Raw: []byte("sertifikat Siti"), Subject: pkix.Name{CommonName: "Siti Rahmawati"}}
	modules := []string{`C:\Windows\System32\eps2003csp11.dll`}
	ffProfile := []DB{{Browser: "Firefox (abc.default)"}}
	md := map[string]string{"ePass2003": "eps2003md.dll"}
	for _, tc := range []struct {
		name  string
		w     Windows
		certs []*x509.Certificate
		want  []string // "ok:" or "warn:" and a piece of the text
	}{
		{"nothing", Windows{}, []*x509.Certificate{cert}, []string{"warn:no smart card minidriver"}},
		{"minidriver, no token", Windows{Minidrivers: md}, nil, []string{"ok:minidriver is registered (ePass2003)"}},
		{"minidriver, not propagated", Windows{Minidrivers: md}, []*x509.Certificate{cert}, []string{"warn:not in your personal certificate store"}},
		{"in the store", Windows{Minidrivers: md, InStore: map[string]string{CertificateKey(cert): "Microsoft Smart Card Key Storage Provider"}}, []*x509.Certificate{cert},
			[]string{"ok:Siti Rahmawati (key through Microsoft Smart Card Key Storage Provider)"}},
		{"firefox without the module", Windows{FirefoxProfiles: ffProfile}, []*x509.Certificate{cert}, []string{"warn:no smart card minidriver", "warn:Firefox cannot use the token"}},
		{"firefox by policy", Windows{FirefoxProfiles: ffProfile, FirefoxPolicy: []string{`c:\windows\system32\EPS2003CSP11.dll`}}, nil, []string{"warn:no smart card", "ok:Firefox loads the token's module (SecurityDevices policy)"}},
		{"firefox by profile", Windows{FirefoxProfiles: []DB{{Modules: []string{`C:\Windows\System32\eps2003csp11.dll`}}}}, nil, []string{"warn:no smart card", "ok:Firefox loads the token's module (profile)"}},
	} {
		got := tc.w.Report(tc.certs, modules)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d findings, want %d: %+v", tc.name, len(got), len(tc.want), got)
			continue
		}
		for i, f := range got {
			kind, text, _ := strings.Cut(tc.want[i], ":")
			if f.OK != (kind == "ok") || !strings.Contains(f.Text, text) || !f.OK && f.Fix == "" {
				t.Errorf("%s: finding %d is %+v, want %s", tc.name, i, f, tc.want[i])
			}
		}
	}
}
