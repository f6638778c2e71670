package nativemsg

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestExtensionID: the id the host manifests allow is the one Chromium
// gives the extension, which its manifest's public key fixes (the first
// 128 bits of the key's SHA-256, in the letters a to p).
func TestExtensionID(t *testing.T) {
	raw, err := os.ReadFile("../web/extension/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Key                     string
		BrowserSpecificSettings struct{ Gecko struct{ ID string } } `json:"browser_specific_settings"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	der, err := base64.StdEncoding.DecodeString(m.Key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	var id strings.Builder
	for _, b := range sum[:16] {
		id.WriteByte('a' + b>>4)
		id.WriteByte('a' + b&15)
	}
	if id.String() != ExtensionID {
		t.Errorf("the extension's id is %s, the host manifests allow %s", id.String(), ExtensionID)
	}
	if m.BrowserSpecificSettings.Gecko.ID != FirefoxID {
		t.Errorf("Firefox id %q, the host manifest allows %q", m.BrowserSpecificSettings.Gecko.ID, FirefoxID)
	}
	for _, fam := range []string{Chromium, Firefox} {
		out, err := HostManifest(fam, "/usr/bin/tte-agent")
		if err != nil || !strings.Contains(string(out), `"name": "id.tte_agent"`) {
			t.Errorf("%s manifest: %v\n%s", fam, err, out)
		}
	}
	if _, err := HostManifest("safari", "x"); err == nil {
		t.Error("an unknown family gave a manifest")
	}
}
