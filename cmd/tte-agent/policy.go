package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/agent/metrics"
)

// cmdPolicy writes the machine's policy from installer properties or a
// rollout script:
//
//	tte-agent policy write --origins "https://a.go.id,https://b.go.id=documents+digest" --modules "C:\x.dll;C:\y.dll"
//
// An origin allows "documents" unless it says otherwise after "=". With no
// flag given the existing policy is kept (an upgrade, a repair).
func cmdPolicy(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "remove" {
		return cmdPolicyRemove(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "browsers" {
		return cmdPolicyBrowsers(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "write" {
		fmt.Fprint(stderr, "usage: tte-agent policy write [--origins LIST] [--modules LIST] [--trust-anchors LIST] [--tsa-url URL] [--metrics-listen ADDR ...] [--path FILE] [--browser-root DIR]\n       tte-agent policy remove [--path FILE] [--browser-root DIR]\n       tte-agent policy browsers [--remove] [--path FILE] [--browser-root DIR]\n")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("policy write", flag.ContinueOnError)
	fs.SetOutput(stderr)
	origins := fs.String("origins", "", `allowed e-office origins, comma-separated; "ORIGIN=documents+digest" to choose capabilities (default documents)`)
	modules := fs.String("modules", "", "PKCS#11 modules, semicolon-separated")
	users := fs.String("allow-users", "", "Linux kiosk (agent run as root): the users besides root whose pages may connect, comma-separated")
	ports := fs.Int("listen-ports", 0, "ports tried from listen's on (several users on one machine); 0 leaves the default")
	anchors := fs.String("trust-anchors", "", "trust anchor certificate files or directories (e.g. the BSrE root), semicolon-separated")
	inters := fs.String("intermediates", "", "intermediate certificate files or directories, semicolon-separated")
	tsaURL := fs.String("tsa-url", "", "the time-stamping authority's URL (PAdES B-T and above)")
	revocation := fs.String("revocation", "", "revocation checking before signing: require, prefer or off")
	metricsListen := fs.String("metrics-listen", "", `the metrics listener, e.g. "0.0.0.0:14546" for fleet scraping (needs TLS and a user)`)
	webConfig := fs.String("metrics-web-config", "", "an exporter-toolkit web config file already on the machine")
	cert := fs.String("metrics-cert", "", "TLS certificate (PEM) of the metrics listener: writes a web config beside the policy")
	key := fs.String("metrics-key", "", "its private key (PEM)")
	user := fs.String("metrics-user", "", "the scraper's basic-auth user name")
	hash := fs.String("metrics-password-hash", "", "the scraper's bcrypt password hash (htpasswd -nBC 10 \"\" | tr -d ':\\n'); never the password")
	path := fs.String("path", config.PolicyPath(), "the policy file")
	browserRoot := fs.String("browser-root", browserRootDefault(), "where the browsers' managed policy directories are (Linux)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	given := 0
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "path" && f.Name != "browser-root" && strings.TrimSpace(f.Value.String()) != "" && f.Value.String() != "0" {
			given++
		}
	})
	if given == 0 {
		fmt.Fprintf(stdout, "no policy keys given: %s left as it is\n", *path)
		return nil
	}
	spec := config.PolicySpec{
		Modules: splitList(*modules, ";"), AllowUsers: splitList(*users, ","), ListenPorts: *ports,
		TrustAnchors: splitList(*anchors, ";"), Intermediates: splitList(*inters, ";"),
		TSAURL: strings.TrimSpace(*tsaURL), RevocationMode: strings.TrimSpace(*revocation),
		MetricsListen: strings.TrimSpace(*metricsListen), MetricsWebConfig: strings.TrimSpace(*webConfig),
	}
	for _, item := range splitList(*origins, ",") {
		origin, caps, found := strings.Cut(item, "=")
		allow := []string{"documents"}
		if found {
			allow = strings.Split(caps, "+")
		}
		spec.Origins = append(spec.Origins, config.Origin{Origin: origin, Allow: allow})
	}
	if err := os.MkdirAll(filepath.Dir(*path), 0o755); err != nil {
		return err
	}
	var webTmp, webPath string
	if *cert != "" || *key != "" || *user != "" || *hash != "" {
		if *cert == "" || *key == "" || *user == "" || *hash == "" {
			return fmt.Errorf("--metrics-cert, --metrics-key, --metrics-user and --metrics-password-hash go together: a LAN metrics listener needs TLS and a user")
		}
		if !strings.HasPrefix(*hash, "$2") {
			return fmt.Errorf("--metrics-password-hash must be a bcrypt hash ($2y$...), never the password itself")
		}
		webPath = filepath.Join(filepath.Dir(*path), "metrics-web.yml")
		webTmp = webPath + ".new"
		web := fmt.Sprintf("# Written by `tte-agent policy write`: the metrics listener's TLS and user.\ntls_server_config:\n  cert_file: %q\n  key_file: %q\nbasic_auth_users:\n  %q: %q\n", *cert, *key, *user, *hash)
		// Readable by the users whose agents serve metrics; the key file
		// keeps its own permissions.
		if err := os.WriteFile(webTmp, []byte(web), 0o644); err != nil {
			return err
		}
		defer os.Remove(webTmp)
		spec.MetricsWebConfig = webTmp
	}
	header := fmt.Sprintf("tte-agent policy, written by `tte-agent policy write` on %s.\nUsers' configurations cannot widen it; see docs/deployment.md.", time.Now().Format("2006-01-02"))
	tmp := *path + ".new"
	if err := os.WriteFile(tmp, config.FormatPolicy(header, spec), 0o644); err != nil {
		return err
	}
	// Nothing invalid replaces a working policy: the file, and a LAN
	// metrics listener's TLS and users, are checked first.
	cfg, err := config.LoadWithPolicy("", tmp)
	if err == nil && spec.MetricsListen != "" {
		err = metrics.Check(*cfg.Metrics.Listen, cfg.Metrics.WebConfig)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("the policy would be invalid, nothing written: %w", err)
	}
	if webTmp != "" {
		// The policy names the web config where it will be.
		spec.MetricsWebConfig = webPath
		if err := os.WriteFile(tmp, config.FormatPolicy(header, spec), 0o644); err != nil {
			os.Remove(tmp)
			return err
		}
		if err := os.Rename(webTmp, webPath); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, *path); err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Fprintf(stdout, "policy written: %s (%d origins, %d modules)\n", *path, len(spec.Origins), len(spec.Modules))
	if webPath != "" {
		fmt.Fprintf(stdout, "metrics web config written: %s\n", webPath)
	}
	// The browsers follow the policy's origins; their failure does not
	// undo the policy (syncBrowsers warns).
	_ = syncBrowsers(browserStore(*browserRoot), policyOrigins(spec.Origins), stdout, stderr)
	return nil
}

// splitList splits s at sep and drops empty items.
func splitList(s, sep string) []string {
	var out []string
	for _, it := range strings.Split(s, sep) {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// cmdPolicyRemove deletes the policy file (the MSI's uninstall).
func cmdPolicyRemove(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy remove", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("path", config.PolicyPath(), "the policy file")
	browserRoot := fs.String("browser-root", browserRootDefault(), "where the browsers' managed policy directories are (Linux)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_ = syncBrowsers(browserStore(*browserRoot), nil, stdout, stderr)
	os.Remove(*path + ".new")
	if err := os.Remove(*path); err != nil && !os.IsNotExist(err) {
		return err
	}
	// The metrics web config goes too when policy write wrote it.
	web := filepath.Join(filepath.Dir(*path), "metrics-web.yml")
	if data, err := os.ReadFile(web); err == nil && strings.HasPrefix(string(data), "# Written by `tte-agent policy write`") {
		os.Remove(web)
	}
	fmt.Fprintf(stdout, "policy removed: %s\n", *path)
	return nil
}
