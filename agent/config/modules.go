package config

import (
	"os"
	"runtime"
	"strings"
)

// DefaultModules returns the PKCS#11 modules found at their usual places
// on this platform, used when neither the configuration nor the policy
// names any:
//
//   - Linux: the p11-kit proxy, which carries every module registered with
//     p11-kit (Debian's OpenSC registers itself), or OpenSC itself when
//     there is no proxy; then vendor modules that do not register with
//     p11-kit (SafeNet Authentication Client's libeTPkcs11.so).
//   - Windows: the vendor DLLs of tokens common in Indonesia at the paths
//     their installers use — Feitian ePass2003 (BSrE's usual token),
//     SafeNet eToken and Thales IDPrime — then OpenSC.
func DefaultModules() []string {
	return discoverModules(runtime.GOOS, os.Getenv, func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && !fi.IsDir()
	})
}

// discoverModules is DefaultModules with the environment and the file
// system passed in.
func discoverModules(goos string, getenv func(string) string, exists func(string) bool) []string {
	first := func(paths ...string) []string {
		for _, p := range paths {
			if exists(p) {
				return []string{p}
			}
		}
		return nil
	}
	var out []string
	switch goos {
	case "linux":
		libdirs := []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"}
		in := func(name string) []string {
			var ps []string
			for _, d := range libdirs {
				ps = append(ps, d+"/"+name)
			}
			return ps
		}
		if proxy := first(in("p11-kit-proxy.so")...); proxy != nil {
			out = append(out, proxy...)
		} else {
			out = append(out, first(append(in("opensc-pkcs11.so"), in("pkcs11/opensc-pkcs11.so")...)...)...)
		}
		out = append(out, first(in("libeTPkcs11.so")...)...)
	case "windows":
		// Joined with backslashes whatever the build, so that the list
		// can be tested anywhere.
		win := func(parts ...string) string { return strings.Join(parts, `\`) }
		sys := win(getenv("SystemRoot"), "System32")
		pf := getenv("ProgramFiles")
		out = append(out, first(win(sys, "eps2003csp11v2.dll"), win(sys, "eps2003csp11.dll"))...)
		out = append(out, first(win(sys, "eTPKCS11.dll"))...)
		out = append(out, first(win(sys, "IDPrimePKCS1164.dll"), win(sys, "IDPrimePKCS11.dll"))...)
		out = append(out, first(win(pf, "OpenSC Project", "OpenSC", "pkcs11", "opensc-pkcs11.dll"), win(sys, "opensc-pkcs11.dll"))...)
	}
	return out
}
