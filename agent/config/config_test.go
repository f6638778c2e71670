package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, text string) (*Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(p)
}

func TestLoadContractExample(t *testing.T) {
	c, err := load(t, `
listen = "127.0.0.1:14545"
[pkcs11]
modules = ["/usr/lib/softhsm/libsofthsm2.so"]
[pinentry]
program = "pinentry"
timeout = "120s"
[[origins]]
origin = "https://eoffice.example.go.id"
allow = ["documents", "digest"]
[tsa]
url = ""
[audit]
path = ""
[metrics]
listen = ""
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:14545" || c.PKCS11.Modules[0] != "/usr/lib/softhsm/libsofthsm2.so" ||
		time.Duration(c.Pinentry.Timeout) != 120*time.Second || c.Pinentry.Language != "id" || *c.Metrics.Listen != "" {
		t.Errorf("config = %+v", c)
	}
	if c.Limits.TextFrameBytes != 1<<20 || c.Limits.BinaryFrameBytes != 4<<20 || c.Limits.DocumentBytes != 512<<20 ||
		c.Limits.Items != 1000 || c.Limits.Uploads != 8 || c.Limits.Connections != 16 ||
		time.Duration(c.PKCS11.Poll) != time.Second || c.PKCS11.Rescan != 0 {
		t.Errorf("default limits = %+v", c.Limits)
	}
	if allow, ok := c.Allowed("https://eoffice.example.go.id"); !ok || len(allow) != 2 {
		t.Errorf("Allowed = %v, %v", allow, ok)
	}
	for _, o := range []string{"https://eoffice.example.go.id/", "https://eoffice.example.go.id.evil.com", "http://eoffice.example.go.id"} {
		if _, ok := c.Allowed(o); ok {
			t.Errorf("%q allowed", o)
		}
	}
	if d := Default(); *d.Metrics.Listen != DefaultMetrics || d.Listen != DefaultListen {
		t.Errorf("defaults %+v", d)
	}
}

func TestLoadRefuses(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"public listen", `listen = "0.0.0.0:14545"`, "127.0.0.1 or [::1]"},
		{"LAN listen", `listen = "192.168.1.2:14545"`, "127.0.0.1 or [::1]"},
		{"hostname listen", `listen = "localhost:14545"`, "127.0.0.1 or [::1]"},
		{"no port", `listen = "127.0.0.1"`, "host:port"},
		{"unknown key", "lsiten = \"127.0.0.1:1\"", "unknown keys lsiten"},
		{"unknown nested key", "[pinentry]\nprogramm = \"x\"", "pinentry.programm"},
		{"origin path", "[[origins]]\norigin = \"https://a.go.id/app\"", "no path"},
		{"origin slash", "[[origins]]\norigin = \"https://a.go.id/\"", "trailing slash"},
		{"origin scheme", "[[origins]]\norigin = \"ftp://a.go.id\"", "http or https"},
		{"origin upper", "[[origins]]\norigin = \"https://A.go.id\"", "lowercase"},
		{"origin default port", "[[origins]]\norigin = \"https://a.go.id:443\"", "default port"},
		{"origin twice", "[[origins]]\norigin = \"https://a.go.id\"\n[[origins]]\norigin = \"https://a.go.id\"", "twice"},
		{"capability", "[[origins]]\norigin = \"https://a.go.id\"\nallow = [\"everything\"]", "unknown capability"},
		{"language", "[pinentry]\nlanguage = \"fr\"", "language"},
		{"timeout", "[pinentry]\ntimeout = \"1ms\"", "between 1s and 30m"},
		{"bad duration", "[pinentry]\ntimeout = \"soon\"", "timeout"},
		{"limit", "[limits]\nitems = -1", "limits.items"},
		{"poll", "[pkcs11]\npoll = \"10ms\"", "pkcs11.poll"},
		{"rescan", "[pkcs11]\nrescan = \"100ms\"", "0s (off) or between 1s and 1h"},
		{"not TOML", "listen = ", "failed to read"},
		{"missing chain file", "[certificates]\nchain = [\"/nonexistent/ca.pem\"]", "certificates.chain"},
		{"tsa url", "[tsa]\nurl = \"ftp://tsa\"", "http or https"},
		{"missing anchor", "[trust]\nanchors = [\"/nonexistent/root.pem\"]", "trust.anchors"},
		{"anchor without certificates", "[trust]\nanchors = [\"/etc/hostname\"]", "trust.anchors"},
		{"revocation mode", "[revocation]\nmode = \"sometimes\"", "revocation.mode"},
		{"revocation timeout", "[revocation]\ntimeout = \"1ms\"", "revocation.timeout"},
		{"crl bound", "[revocation]\nmax_crl_bytes = 10", "revocation.max_crl_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestChainFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a certificate"), 0o600)
	if _, err := load(t, "[certificates]\nchain = [\""+text+"\"]"); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a file without certificates: %v", err)
	}
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, []byte(testCAPEM), 0o600)
	c, err := load(t, "[certificates]\nchain = [\""+ca+"\"]")
	if err != nil || len(c.Certificates.Parsed) != 1 || c.Certificates.Parsed[0].Subject.CommonName != "Chain Test CA" {
		t.Errorf("chain = %v, %v", c, err)
	}
}

// [trust] takes files and directories; [revocation] defaults to prefer.
func TestTrustAndRevocation(t *testing.T) {
	dir := t.TempDir()
	ca := writeTestCA(t, dir)
	c, err := load(t, "[trust]\nanchors = [\""+dir+"\"]\nintermediates = [\""+ca+"\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Trust.ParsedAnchors) != 1 || len(c.Trust.ParsedIntermediates) != 1 || !c.Trust.FetchAIA() {
		t.Errorf("trust: %d anchors, %d intermediates, aia %v", len(c.Trust.ParsedAnchors), len(c.Trust.ParsedIntermediates), c.Trust.FetchAIA())
	}
	if c.Revocation.Mode != "prefer" || c.Revocation.Timeout == 0 || c.Revocation.MaxCRLBytes != 16<<20 {
		t.Errorf("revocation defaults: %+v", c.Revocation)
	}
}
