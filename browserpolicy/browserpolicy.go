// Package browserpolicy writes and reads the managed browser policies that
// let an e-office page served from a public origin reach the agent on the
// loopback address. Chromium-based browsers block such requests (Local
// Network Access) unless the user allows the site or a managed policy
// names it: LocalNetworkAccessAllowedForUrls (Chrome 139+, Edge 140+),
// and LoopbackNetworkAllowedForUrls since the permission was split (146+).
// Both are written, for Google Chrome, Chromium and Microsoft Edge: on
// Linux as one JSON file in each browser's managed policy directory, on
// Windows as values under each browser's HKLM policy key.
//
// Firefox has no equivalent: its LocalNetworkAccess policy exempts
// destinations (SkipDomains), so the loopback address for every site, not
// one e-office; docs/deployment.md says what to do there.
package browserpolicy

import (
	"errors"
	"net/url"
	"slices"
	"strings"
)

// Browser is one Chromium-based browser's policy location.
type Browser struct {
	// Name is what users call it.
	Name string
	// Dir is its managed policy directory on Linux.
	Dir string
	// Key is its policy key under HKEY_LOCAL_MACHINE on Windows.
	Key string
	// Programs are where Debian and the vendors install it on Linux.
	Programs []string
}

// Browsers are the browsers whose policies are written.
var Browsers = []Browser{
	{Name: "Google Chrome", Dir: "/etc/opt/chrome/policies/managed", Key: `SOFTWARE\Policies\Google\Chrome`,
		Programs: []string{"/usr/bin/google-chrome", "/usr/bin/google-chrome-stable", "/opt/google/chrome/chrome"}},
	{Name: "Chromium", Dir: "/etc/chromium/policies/managed", Key: `SOFTWARE\Policies\Chromium`,
		Programs: []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"}},
	{Name: "Microsoft Edge", Dir: "/etc/opt/edge/policies/managed", Key: `SOFTWARE\Policies\Microsoft\Edge`,
		Programs: []string{"/usr/bin/microsoft-edge", "/usr/bin/microsoft-edge-stable", "/opt/microsoft/msedge/msedge"}},
}

// Policies are the list policies written, each naming the e-office
// origins.
var Policies = []string{"LocalNetworkAccessAllowedForUrls", "LoopbackNetworkAllowedForUrls"}

// FileName is the policy file written in each managed directory (Linux).
const FileName = "tte-agent.json"

// ErrNotOurs means a file at FileName was not written by tte-agent and
// is left alone.
var ErrNotOurs = errors.New("not written by tte-agent")

// Coverage is what one browser's policies allow.
type Coverage struct {
	// Patterns are the URL patterns of every policy file or value, per
	// policy.
	Patterns map[string][]string
	// Sources counts, per policy, the files or keys that set it: Chrome
	// takes a list policy from one source only, so more than one means
	// some are ignored.
	Sources map[string]int
}

// Missing returns the origins that a policy does not cover, each once.
func (c Coverage) Missing(origins []string) []string {
	var out []string
	for _, o := range origins {
		for _, p := range Policies {
			if !slices.ContainsFunc(c.Patterns[p], func(pat string) bool { return Covers(pat, o) }) {
				out = append(out, o)
				break
			}
		}
	}
	return out
}

// Covers reports whether a Chrome URL pattern ("https://a.go.id",
// "[*.]go.id", "https://[*.]go.id:8443", "*") matches origin. Paths and
// queries of patterns are ignored: the check is per origin.
func Covers(pattern, origin string) bool {
	pattern = strings.ToLower(strings.TrimSpace(pattern))
	if pattern == "*" {
		return true
	}
	o, err := url.Parse(strings.ToLower(origin))
	if err != nil || o.Host == "" {
		return false
	}
	scheme, rest, hasScheme := strings.Cut(pattern, "://")
	if !hasScheme {
		scheme, rest = "", pattern
	}
	if scheme != "" && scheme != "*" && scheme != o.Scheme {
		return false
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	host, port := rest, ""
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
	}
	if port != "" && port != "*" && port != portOf(o) {
		return false
	}
	if sub, ok := strings.CutPrefix(host, "[*.]"); ok {
		return o.Hostname() == sub || strings.HasSuffix(o.Hostname(), "."+sub)
	}
	return host == "*" || host == o.Hostname()
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "https", "wss":
		return "443"
	case "http", "ws":
		return "80"
	}
	return ""
}
