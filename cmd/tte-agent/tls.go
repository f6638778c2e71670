package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/browserpolicy"
	"github.com/tte-agent/tte-agent/browsertls"
)

// viaP11Kit reports whether the configured modules are reachable through
// p11-kit's proxy: one is the proxy, or p11-kit's module configuration
// names one of them (Debian registers SoftHSM and OpenSC there).
func viaP11Kit(modules []string) bool {
	for _, m := range modules {
		if strings.Contains(filepath.Base(m), "p11-kit-proxy") {
			return true
		}
	}
	confs, _ := filepath.Glob("/usr/share/p11-kit/modules/*.module")
	for _, c := range confs {
		data, err := os.ReadFile(c)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			lib, ok := strings.CutPrefix(strings.TrimSpace(line), "module:")
			if !ok {
				continue
			}
			lib = strings.TrimSpace(lib)
			for _, m := range modules {
				if m == lib || filepath.Base(m) == filepath.Base(lib) {
					return true
				}
			}
		}
	}
	return false
}

// tls reports, for each NSS database of the user's browsers, whether it
// can use the token for TLS client authentication (Linux).
func (d *doctor) tls(cfg *config.Config) {
	if runtime.GOOS != "linux" || len(cfg.PKCS11.Modules) == 0 {
		return
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return
	}
	dbs, err := browsertls.Find(home)
	if err != nil {
		d.warn("check the browser's profile directory", "the browsers' certificate databases cannot be read: %v", err)
		return
	}
	p11kit := viaP11Kit(cfg.PKCS11.Modules)
	for _, db := range dbs {
		if db.Loads(cfg.PKCS11.Modules, p11kit) {
			d.ok("%s can use the token for TLS client authentication (%s)", db.Browser, db.Dir)
			continue
		}
		d.warn("run `tte-agent browser-setup` (then restart the browser)", "%s cannot use the token to log in to sites that ask for a certificate: its database %s does not load the token's module", db.Browser, db.Dir)
	}
}

// windowsTLS reports, on Windows, whether Chrome/Edge (the Windows
// certificate store, filled through the token's minidriver) and Firefox
// (its SecurityDevices policy or profiles) can use the token for TLS
// client authentication.
func (d *doctor) windowsTLS(cfg *config.Config) {
	if runtime.GOOS != "windows" {
		return
	}
	w, err := browsertls.ReadWindows(d.certs)
	if err != nil {
		d.warn("check that the certificate store opens (certmgr.msc)", "the Windows certificate store cannot be read: %v", err)
	}
	for _, f := range w.Report(d.certs, cfg.PKCS11.Modules) {
		if f.OK {
			d.ok("%s", f.Text)
		} else {
			d.warn(f.Fix, "%s", f.Text)
		}
	}
}

// cmdBrowserSetup registers the token's module in the NSS databases of the
// user's browsers that lack it (Chromium's is made first when Chromium is
// installed and has not run yet), so that they offer the token's
// certificate for TLS client authentication.
func cmdBrowserSetup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("browser-setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (its [pkcs11] modules are registered)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	if len(cfg.PKCS11.Modules) == 0 {
		return fmt.Errorf("no [pkcs11] modules are configured: nothing to register")
	}
	if runtime.GOOS == "windows" {
		// Chrome and Edge take client certificates from the Windows
		// certificate store, which only the token vendor's minidriver
		// fills; Firefox loads the module through its policy.
		if err := browsertls.SetupFirefox("tte-agent token", cfg.PKCS11.Modules[0]); err != nil {
			return fmt.Errorf("failed to register the module for Firefox: %w", err)
		}
		fmt.Fprintf(stdout, "Firefox: registered %s (SecurityDevices policy for this user); restart Firefox\n", cfg.PKCS11.Modules[0])
		fmt.Fprintln(stdout, "Chrome and Edge: they use the Windows certificate store, which the token vendor's minidriver fills when the token is inserted; `tte-agent doctor` says whether it does.")
		return nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}
	dbs, err := browsertls.Find(home)
	if err != nil {
		return err
	}
	chromium := false
	for _, db := range dbs {
		chromium = chromium || db.Dir == browsertls.ChromiumDir(home)
	}
	files := browserpolicy.Files{Root: browserRootDefault()}
	if !chromium && (files.Installed(browserpolicy.Browsers[0]) || files.Installed(browserpolicy.Browsers[1])) {
		db, err := browsertls.CreateChromium(home)
		if err != nil {
			return err
		}
		dbs = append([]browsertls.DB{db}, dbs...)
	}
	if len(dbs) == 0 {
		fmt.Fprintln(stdout, "No browser certificate database found (no Chromium, Chrome or Firefox profile yet): start the browser once, then run browser-setup again.")
		return nil
	}
	p11kit := viaP11Kit(cfg.PKCS11.Modules)
	module := cfg.PKCS11.Modules[0]
	for _, db := range dbs {
		if db.Loads(cfg.PKCS11.Modules, p11kit) {
			fmt.Fprintf(stdout, "%s: already loads the token's module (%s)\n", db.Browser, db.Dir)
			continue
		}
		if err := browsertls.Register(db, "tte-agent token", module); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: registered %s in %s; restart the browser\n", db.Browser, module, db.Dir)
	}
	return nil
}
