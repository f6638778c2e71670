package config

import (
	"slices"
	"testing"
)

func TestDiscoverModules(t *testing.T) {
	winEnv := map[string]string{"SystemRoot": `C:\Windows`, "ProgramFiles": `C:\Program Files`}
	tests := []struct {
		name    string
		goos    string
		present []string
		want    []string
	}{
		{"linux nothing", "linux", nil, nil},
		{"linux proxy covers OpenSC", "linux",
			[]string{"/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so", "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"},
			[]string{"/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so"}},
		{"linux OpenSC without p11-kit", "linux",
			[]string{"/usr/lib64/opensc-pkcs11.so"},
			[]string{"/usr/lib64/opensc-pkcs11.so"}},
		{"linux SafeNet beside the proxy", "linux",
			[]string{"/usr/lib/libeTPkcs11.so", "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so"},
			[]string{"/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so", "/usr/lib/libeTPkcs11.so"}},
		{"windows ePass2003 and SafeNet", "windows",
			[]string{`C:\Windows\System32\eTPKCS11.dll`, `C:\Windows\System32\eps2003csp11.dll`},
			[]string{`C:\Windows\System32\eps2003csp11.dll`, `C:\Windows\System32\eTPKCS11.dll`}},
		{"windows newer ePass2003 driver preferred", "windows",
			[]string{`C:\Windows\System32\eps2003csp11.dll`, `C:\Windows\System32\eps2003csp11v2.dll`},
			[]string{`C:\Windows\System32\eps2003csp11v2.dll`}},
		{"windows OpenSC installer path", "windows",
			[]string{`C:\Program Files\OpenSC Project\OpenSC\pkcs11\opensc-pkcs11.dll`, `C:\Windows\System32\IDPrimePKCS1164.dll`},
			[]string{`C:\Windows\System32\IDPrimePKCS1164.dll`, `C:\Program Files\OpenSC Project\OpenSC\pkcs11\opensc-pkcs11.dll`}},
		{"other platforms", "darwin", []string{"/usr/lib/p11-kit-proxy.so"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := discoverModules(tt.goos, func(k string) string { return winEnv[k] }, func(p string) bool { return slices.Contains(tt.present, p) })
			if !slices.Equal(got, tt.want) {
				t.Errorf("discoverModules = %q, want %q", got, tt.want)
			}
		})
	}
}
