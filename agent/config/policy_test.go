package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, mode)
	return p
}

func TestPolicy(t *testing.T) {
	const user = `
listen = "127.0.0.1:15000"
[pkcs11]
modules = ["/opt/a.so", "/opt/evil.so"]
[[origins]]
origin = "https://eoffice.kota.go.id"
allow = ["documents", "digest"]
[[origins]]
origin = "https://evil.example.com"
allow = ["documents", "digest"]
[limits]
items = 500
document_bytes = 1073741824
`
	const policy = `
listen = "127.0.0.1:14545"
[pkcs11]
modules = ["/opt/a.so", "/opt/b.so"]
[[origins]]
origin = "https://eoffice.kota.go.id"
allow = ["documents"]
[[origins]]
origin = "https://arsip.kota.go.id"
allow = ["digest"]
[limits]
items = 2000
document_bytes = 104857600
connections = 4
`
	dir := t.TempDir()
	up := writeFile(t, dir, "config.toml", user, 0o600)
	pp := writeFile(t, dir, "policy.toml", policy, 0o644)
	c, err := LoadWithPolicy(up, pp)
	if err != nil {
		t.Fatal(err)
	}
	if c.PolicyPath != pp || c.Listen != "127.0.0.1:14545" {
		t.Errorf("policy path %q, listen %q: the policy's listen must win", c.PolicyPath, c.Listen)
	}
	if caps, ok := c.Allowed("https://eoffice.kota.go.id"); !ok || !slices.Equal(caps, []string{"documents"}) {
		t.Errorf("shared origin: %v %v, want the policy's narrower [documents]", caps, ok)
	}
	if _, ok := c.Allowed("https://evil.example.com"); ok {
		t.Error("an origin only the user allows was kept")
	}
	if caps, ok := c.Allowed("https://arsip.kota.go.id"); !ok || !slices.Equal(caps, []string{"digest"}) {
		t.Errorf("policy-only origin: %v %v", caps, ok)
	}
	if !slices.Equal(c.PKCS11.Modules, []string{"/opt/a.so"}) || c.PKCS11.Discovered {
		t.Errorf("modules %v (discovered %v), want the user's subset [/opt/a.so]", c.PKCS11.Modules, c.PKCS11.Discovered)
	}
	if c.Limits.Items != 500 || c.Limits.DocumentBytes != 100<<20 || c.Limits.Connections != 4 || c.Limits.Uploads != DefaultUploads {
		t.Errorf("limits %+v: want the smaller of user and policy", c.Limits)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{"evil.example.com is in your configuration but not in the policy", "/opt/evil.so is in your configuration but not in the policy"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}

	// A user config that names nothing gets the policy as it is; a user
	// who narrows a capability away keeps the origin with none.
	c, err = LoadWithPolicy(writeFile(t, dir, "narrow.toml", "[[origins]]\norigin = \"https://arsip.kota.go.id\"\nallow = []\n", 0o600), pp)
	if err != nil {
		t.Fatal(err)
	}
	if caps, _ := c.Allowed("https://arsip.kota.go.id"); len(caps) != 0 {
		t.Errorf("narrowed origin kept capabilities %v", caps)
	}
	if caps, _ := c.Allowed("https://eoffice.kota.go.id"); !slices.Equal(caps, []string{"documents"}) {
		t.Errorf("untouched policy origin: %v", caps)
	}
	c, err = LoadWithPolicy("", pp)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Origins) != 2 || !slices.Equal(c.PKCS11.Modules, []string{"/opt/a.so", "/opt/b.so"}) || c.Limits.Items != 2000 {
		t.Errorf("policy alone: origins %v modules %v items %d", c.Origins, c.PKCS11.Modules, c.Limits.Items)
	}

	// No policy file: the user's configuration as it is.
	c, err = LoadWithPolicy(up, filepath.Join(dir, "none.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.PolicyPath != "" || len(c.Origins) != 2 || c.Limits.Items != 500 {
		t.Errorf("without a policy: %+v", c)
	}
}

func TestPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, policy, want string }{
		{"unknown key", "lsiten = \"127.0.0.1:1\"", "unknown keys lsiten"},
		{"public listen", `listen = "0.0.0.0:14545"`, "127.0.0.1 or [::1]"},
		{"bad origin", "[[origins]]\norigin = \"https://a.go.id/\"", "trailing slash"},
		{"not TOML", "listen = ", "failed to read the policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, "policy.toml", tt.policy, 0o644)
			_, err := LoadWithPolicy("", p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err = %v, want one naming %s and saying %q", err, p, tt.want)
			}
		})
	}
}

func TestPolicyWritableByOthers(t *testing.T) {
	p := writeFile(t, t.TempDir(), "policy.toml", "[[origins]]\norigin = \"https://a.go.id\"\n", 0o666)
	c, err := LoadWithPolicy("", p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "writable by others") {
		t.Errorf("notes = %q", c.Notes)
	}
}
