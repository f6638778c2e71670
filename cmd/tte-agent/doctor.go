package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/agent/metrics"
	"github.com/tte-agent/tte-agent/agent/pinentry"
	"github.com/tte-agent/tte-agent/installer"
	"github.com/tte-agent/tte-agent/token"
)

// doctor collects findings: a problem stops signing, a warning will
// soon, ok is what works. Every problem and warning says how to fix it.
type doctor struct {
	w                 io.Writer
	problems, warning int
	// certs are the token certificates tokens found.
	certs []*x509.Certificate
}

func (d *doctor) ok(format string, a ...any) { fmt.Fprintf(d.w, "ok       "+format+"\n", a...) }

func (d *doctor) warn(fix, format string, a ...any) {
	d.warning++
	fmt.Fprintf(d.w, "WARNING  "+format+"\n         fix: %s\n", append(a, fix)...)
}

func (d *doctor) problem(fix, format string, a ...any) {
	d.problems++
	fmt.Fprintf(d.w, "PROBLEM  "+format+"\n         fix: %s\n", append(a, fix)...)
}

// errProblems makes doctor exit 1 after its report.
var errProblems = errors.New("")

// cmdDoctor checks what signing needs on this machine and prints plain
// fixes; it exits 1 when something stops signing.
func cmdDoctor(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (default: the user's config.toml if it exists)")
	policy := fs.String("policy", config.PolicyPath(), "the administrator's policy")
	browserRoot := fs.String("browser-root", browserRootDefault(), "where the browsers' managed policy directories are (Linux)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d := &doctor{w: stdout}
	userPath := *path
	if userPath == "" {
		userPath = userConfigPath()
	}
	cfg, err := config.LoadWithPolicy(userPath, *policy)
	if err != nil {
		d.problem("correct the file (keys and values: "+doc("protocol.md")+", section Configuration; the policy: "+doc("deployment.md")+")", "configuration: %v", err)
		return d.finish()
	}
	d.ok("configuration %s, policy %s", orNone(userPath), orNone(cfg.PolicyPath))
	for _, n := range cfg.Notes {
		d.warn("align the configuration with the policy, or ask the administrator", "%s", n)
	}
	d.origins(cfg)
	d.browsers(cfg, *browserRoot)
	d.tls(cfg)
	d.dialog(cfg)
	d.port(cfg)
	if *cfg.Metrics.Listen != "" {
		if err := metrics.Check(*cfg.Metrics.Listen, cfg.Metrics.WebConfig); err != nil {
			d.problem("bind metrics to 127.0.0.1, or set [metrics] web_config with TLS and basic_auth_users ("+doc("metrics.md")+")", "%v", err)
		} else {
			d.ok("metrics listener %s", *cfg.Metrics.Listen)
		}
	}
	d.tokens(cfg, time.Now())
	d.windowsTLS(cfg)
	return d.finish()
}

func (d *doctor) finish() error {
	fmt.Fprintln(d.w)
	switch {
	case d.problems > 0:
		fmt.Fprintf(d.w, "%d problem(s), %d warning(s): signing will not work until the problems are fixed.\n", d.problems, d.warning)
		return errProblems
	case d.warning > 0:
		fmt.Fprintf(d.w, "No problems; %d warning(s).\n", d.warning)
	default:
		fmt.Fprintln(d.w, "No problems found.")
	}
	return nil
}

func (d *doctor) origins(cfg *config.Config) {
	if len(cfg.Origins) == 0 {
		d.problem("add the e-office's address to the policy: [[origins]] origin = \"https://eoffice.example.go.id\"", "no e-office origin is allowed: every page will be refused")
		return
	}
	for _, o := range cfg.Origins {
		if len(o.Allow) == 0 {
			d.warn("give it allow = [\"documents\"] or remove it", "origin %s is listed with no capability: it can connect but not sign", o.Origin)
			continue
		}
		d.ok("origin %s may %s", o.Origin, strings.Join(o.Allow, ", "))
	}
}

func (d *doctor) dialog(cfg *config.Config) {
	prog := cfg.Pinentry.Program
	if prog == "" {
		d.ok("PIN dialog: the native Windows dialog")
		return
	}
	p, err := exec.LookPath(prog)
	if err != nil {
		d.problem("install a pinentry (Debian: apt install pinentry-gnome3, or pinentry-curses), or set [pinentry] program", "the PIN dialog program %q is not installed: no one can give consent", prog)
		return
	}
	const fix = "install a graphical pinentry (Debian: apt install pinentry-gnome3, or pinentry-qt) and set [pinentry] program = \"pinentry-gnome3\""
	if real, tty := terminalOnly(p); tty {
		if where, ok := asService(); ok {
			d.problem(fix, "the PIN dialog %s (%s) draws only in a terminal, but tte-agent runs as a service (%s), which has none: every signing request would fail", p, real, where)
		} else {
			d.warn(fix+", or keep tte-agent running in a terminal", "the PIN dialog %s (%s) draws only in a terminal: it works only while tte-agent runs in one (`tte-agent run`), not as a service", p, real)
		}
		return
	}
	d.ok("PIN dialog: %s", p)
}

// terminalOnly says whether the pinentry at path draws only in a
// terminal, and names the program it resolves to.
func terminalOnly(path string) (string, bool) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = path
	}
	return filepath.Base(real), pinentry.TerminalOnly(path)
}

// asService says whether tte-agent runs (or is installed to run) as this
// user's service, where no terminal exists: doctor itself runs under
// systemd, or `tte-agent service install` put a unit in place.
func asService() (string, bool) {
	if os.Getenv("INVOCATION_ID") != "" {
		return "this process runs under systemd", true
	}
	m, err := installer.New(installer.Options{})
	if err != nil {
		return "", false
	}
	if st, _ := m.Status(); st != "" && st != installer.NotInstalled {
		return m.Where(), true
	}
	return "", false
}

// port checks the WebSocket address: free, held by a tte-agent (which
// answers a request without Origin with 403), or held by something else.
func (d *doctor) port(cfg *config.Config) {
	host, p, _ := net.SplitHostPort(cfg.Listen)
	first, _ := strconv.Atoi(p)
	n := cfg.ListenPorts
	if first == 0 {
		n = 1
	}
	client := &http.Client{Timeout: 3 * time.Second}
	var others, foreign []string
	free := ""
	for i := range max(n, 1) {
		addr := net.JoinHostPort(host, strconv.Itoa(first+i))
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			if free == "" {
				free = addr
			}
			continue
		}
		// The agent checks the user before the origin: without an
		// Origin, this user's agent says "Origin", another user's says
		// "another user".
		resp, err := client.Get("http://" + addr + "/v1")
		if err != nil {
			others = append(others, addr)
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusForbidden && strings.Contains(string(body), "another user"):
			foreign = append(foreign, addr)
		case resp.StatusCode == http.StatusForbidden && strings.Contains(string(body), "Origin"):
			d.ok("your tte-agent is running on %s", addr)
			return
		default:
			others = append(others, addr)
		}
	}
	if len(foreign) > 0 {
		d.ok("other users' agents hold %s; pages find yours with /v1/hello", strings.Join(foreign, ", "))
	}
	if len(others) > 0 && free != "" {
		d.warn("stop the other program if it should not be there", "another program holds %s; tte-agent will use %s", strings.Join(others, ", "), free)
	}
	if free == "" {
		d.problem("raise listen_ports in the policy, or stop the programs holding the ports", "every port from %s on (%d) is taken: tte-agent cannot start", cfg.Listen, n)
		return
	}
	d.warn("start it: `tte-agent service start` (or log on again)", "tte-agent is not running (it would listen on %s): pages will say so", free)
}

func (d *doctor) tokens(cfg *config.Config, now time.Time) {
	if len(cfg.PKCS11.Modules) == 0 {
		d.problem("install the token's driver (OpenSC, ePass2003, SafeNet Authentication Client) or set [pkcs11] modules", "no PKCS#11 module is configured or installed")
		return
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var loaded []string
	for _, m := range cfg.PKCS11.Modules {
		p, err := token.Open([]string{m}, log)
		if err != nil {
			d.problem("reinstall the token's driver, or correct the path in [pkcs11] modules", "%v", err)
			continue
		}
		p.Close()
		loaded = append(loaded, m)
		d.ok("module %s loads", m)
	}
	if len(loaded) == 0 {
		return
	}
	p, err := token.Open(loaded, log)
	if err != nil {
		d.problem("reinstall the token's driver", "%v", err)
		return
	}
	defer p.Close()
	toks, err := p.Tokens()
	if err != nil || len(toks) == 0 {
		d.warn("plug in the token; if it is in, check its driver and (Linux) that pcscd runs", "no token is present")
		return
	}
	certs, err := p.Certificates()
	if err != nil {
		d.problem("pull the token out and in again", "failed to read certificates: %v", err)
	}
	for _, c := range certs {
		d.certs = append(d.certs, c.Cert)
	}
	for _, t := range toks {
		switch t.PINStatus {
		case token.PINLocked:
			d.problem("have the PIN unlocked with the SO PIN/PUK (the RA or the token's tool)", "token %q (%s): its PIN is locked", t.Label, t.Serial)
		case token.PINFinalTry:
			d.warn("be sure of the PIN before the next try", "token %q (%s): one PIN try left before it locks", t.Label, t.Serial)
		case token.PINCountLow:
			d.warn("be sure of the PIN before the next try", "token %q (%s): a wrong PIN was entered", t.Label, t.Serial)
		default:
			d.ok("token %q (%s), PIN ok", t.Label, t.Serial)
		}
		n := 0
		for _, c := range certs {
			if c.Token == t.Serial {
				n++
				d.certificate(c, now)
			}
		}
		if n == 0 {
			d.problem("have the certificate issued onto this token (BSrE/RA)", "token %q holds no certificate with its private key", t.Label)
		}
	}
}

func (d *doctor) certificate(c token.Certificate, now time.Time) {
	cn, until := c.Cert.Subject.CommonName, c.Cert.NotAfter.Format("2006-01-02")
	days := int(c.Cert.NotAfter.Sub(now).Hours() / 24)
	switch {
	case now.After(c.Cert.NotAfter):
		d.problem("renew the certificate with the RA (BSrE)", "certificate %s of %s expired on %s", c.ID, cn, until)
		return
	case now.Before(c.Cert.NotBefore):
		d.problem("wait until it is valid, or check the computer's clock", "certificate %s of %s is not valid before %s", c.ID, cn, c.Cert.NotBefore.Format("2006-01-02"))
		return
	case c.Cert.KeyUsage != 0 && c.Cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0:
		d.problem("use a signing certificate; this one is for encryption or authentication only", "certificate %s of %s is not for signing (key usage)", c.ID, cn)
		return
	case days < 30:
		d.warn("renew it with the RA (BSrE) now: renewal takes time", "certificate %s of %s expires in %d days (%s)", c.ID, cn, days, until)
		return
	}
	d.ok("certificate %s of %s valid until %s", c.ID, cn, until)
}
