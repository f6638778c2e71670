package nativemsg

import (
	"encoding/json"
	"fmt"
)

// The names the browser extension (web/extension) and its host share.
const (
	// HostName is the native-messaging host's name, as the extension's
	// service worker asks for it.
	HostName = "id.tte_agent"
	// ExtensionID is the Chromium id of the extension: fixed by the
	// public key in its manifest, so that the host manifests can name it
	// (TestExtensionID checks the two agree).
	ExtensionID = "iblcddjnkgkdcahccphcndlejkcjmaae"
	// FirefoxID is the extension's id in Firefox (browser_specific_settings).
	FirefoxID = "tte-agent@tte-agent.id"
)

// Families of browsers whose host manifests differ.
const (
	Chromium = "chromium" // Google Chrome, Chromium, Microsoft Edge
	Firefox  = "firefox"
)

// ManifestDirs are where each browser looks for system-wide host
// manifests on Linux.
var ManifestDirs = []struct{ Browser, Family, Dir string }{
	{"Google Chrome", Chromium, "/etc/opt/chrome/native-messaging-hosts"},
	{"Chromium", Chromium, "/etc/chromium/native-messaging-hosts"},
	{"Microsoft Edge", Chromium, "/etc/opt/edge/native-messaging-hosts"},
	{"Firefox", Firefox, "/usr/lib/mozilla/native-messaging-hosts"},
}

// HostManifest returns the host manifest for a browser family: exe is the
// program browsers start (tte-agent itself, which acts as the host when
// started with an extension's origin or id), and only the tte-agent
// extension may start it.
func HostManifest(family, exe string) ([]byte, error) {
	m := map[string]any{
		"name":        HostName,
		"description": "tte-agent: signing with the user's own token for e-office pages",
		"path":        exe,
		"type":        "stdio",
	}
	switch family {
	case Chromium:
		m["allowed_origins"] = []string{"chrome-extension://" + ExtensionID + "/"}
	case Firefox:
		m["allowed_extensions"] = []string{FirefoxID}
	default:
		return nil, fmt.Errorf("unknown browser family %q (chromium or firefox)", family)
	}
	out, err := json.MarshalIndent(m, "", "  ")
	return append(out, '\n'), err
}
