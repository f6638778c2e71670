package config

import (
	"os"
	"path/filepath"
	"testing"
)

// testCAPEM is a self-signed CA certificate (no key kept) for chain tests.
const testCAPEM = `-----BEGIN CERTIFICATE-----
MIIBYjCCAQegAwIBAgIBATAKBggqhkjOPQQDAjAYMRYwFAYDVQQDEw1DaGFpbiBU
ZXN0IENBMB4XDTI2MDEwMTAwMDAwMFoXDTM2MDEwMTAwMDAwMFowGDEWMBQGA1UE
AxMNQ2hhaW4gVGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABICFoVf3
uCUEIqzj+sM54vUMs4RlLJMagaDuVw4RuWNT5bAzJJUAxDMnlqWXvnqWtn3PI0k/
zymKrwPNucQZ91SjQjBAMA4GA1UdDwEB/wQEAwICBDAPBgNVHRMBAf8EBTADAQH/
MB0GA1UdDgQWBBRFKHyq4cglGoMf+/jU15jcVTpBITAKBggqhkjOPQQDAgNJADBG
AiEAtqQ0/2U7YetKSW9wQoTK+MVmBzM17ZRDbss48XOMERUCIQCp07CYvrSD2kN2
ldiyz3jdth8hUOaUilzLieW/uNLjNA==
-----END CERTIFICATE-----
`

// writeTestCA writes testCAPEM as dir/ca.pem and returns its path.
func writeTestCA(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, []byte(testCAPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
