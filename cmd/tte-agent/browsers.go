package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/browserpolicy"
)

// browserRootDefault is where the browsers' managed policy directories
// are looked for on Linux: "/" unless TTE_BROWSER_ROOT says otherwise (a
// test, or an image built in a chroot).
func browserRootDefault() string {
	if r := os.Getenv("TTE_BROWSER_ROOT"); r != "" {
		return r
	}
	return "/"
}

// browserStore is the machine's browser policy store: the registry on
// Windows, the managed directories under root elsewhere.
func browserStore(root string) browserpolicy.Store {
	if runtime.GOOS == "windows" {
		return browserpolicy.System()
	}
	return browserpolicy.Files{Root: root}
}

// needsLNA returns the origins whose pages Chromium holds to Local Network
// Access when they reach the agent on loopback: all but loopback pages
// (doctor's check).
func needsLNA(origins []string) []string {
	var out []string
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil {
			continue
		}
		h := u.Hostname()
		if h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1" {
			continue
		}
		out = append(out, o)
	}
	return out
}

func policyOrigins(origins []config.Origin) []string {
	var out []string
	for _, o := range origins {
		out = append(out, o.Origin)
	}
	return out
}

// syncBrowsers writes the browser policies for origins (none: removes
// tte-agent's). A failure is a warning: the agent itself works, but pages
// on public origins may be blocked.
//
// Every origin is written, loopback ones too: a browser may be told to
// treat an address as public (Chromium's --ip-address-space-overrides, as
// the browser tests do), and an entry for a page that needs none costs
// nothing.
func syncBrowsers(store browserpolicy.Store, origins []string, stdout, stderr io.Writer) error {
	if err := browserpolicy.WriteAll(store, origins); err != nil {
		fmt.Fprintf(stderr, "WARNING: browser policies: %v\n  Chrome, Chromium and Edge may block the e-office pages from reaching tte-agent; see the deployment guide, \"Browser policies\".\n", err)
		return err
	}
	if len(origins) == 0 {
		fmt.Fprintln(stdout, "browser policies: no origins, none written (tte-agent's removed)")
		return nil
	}
	fmt.Fprintf(stdout, "browser policies written for %d origin(s): Google Chrome, Chromium, Microsoft Edge (LocalNetworkAccessAllowedForUrls, LoopbackNetworkAllowedForUrls)\n", len(origins))
	return nil
}

// cmdPolicyBrowsers writes, or with --remove removes, the browser policies
// for the origins of the machine's policy (the .deb's maintainer scripts).
func cmdPolicyBrowsers(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy browsers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("path", config.PolicyPath(), "the policy file")
	remove := fs.Bool("remove", false, "remove tte-agent's browser policies")
	root := fs.String("browser-root", browserRootDefault(), "where the browsers' managed policy directories are (Linux)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var origins []string
	if !*remove {
		cfg, err := config.LoadWithPolicy("", *path)
		if err != nil {
			return err
		}
		origins = policyOrigins(cfg.Origins)
	}
	return syncBrowsers(browserStore(*root), origins, stdout, stderr)
}

// browsers reports each installed Chromium-based browser whose policy
// does not let a configured origin reach the agent.
func (d *doctor) browsers(cfg *config.Config, root string) {
	origins := needsLNA(policyOrigins(cfg.Origins))
	if len(origins) == 0 {
		return
	}
	store := browserStore(root)
	const fix = "run `sudo tte-agent policy browsers` (Windows: reinstall the MSI with ORIGINS), or add the origins to the browser's LocalNetworkAccessAllowedForUrls and LoopbackNetworkAllowedForUrls policies"
	for _, b := range browserpolicy.Browsers {
		if !store.Installed(b) {
			continue
		}
		c, err := store.Coverage(b)
		if err != nil {
			d.warn(fix, "%s: its policies cannot be read: %v", b.Name, err)
			continue
		}
		if missing := c.Missing(origins); len(missing) > 0 {
			d.warn(fix, "%s will block %s from reaching tte-agent (Local Network Access): no browser policy allows it", b.Name, strings.Join(missing, ", "))
			continue
		}
		for _, p := range browserpolicy.Policies {
			if c.Sources[p] > 1 {
				d.warn("keep "+p+" in one policy file, with every origin in it", "%s: %s is set in %d policy files and the browser takes it from one only", b.Name, p, c.Sources[p])
			}
		}
		d.ok("%s lets %s reach tte-agent (browser policy)", b.Name, strings.Join(origins, ", "))
	}
}
