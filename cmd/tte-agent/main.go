// Command tte-agent lets browser e-office apps sign with the user's own
// PKCS#11 token. See README.md and docs/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/tte-agent/tte-agent/agent"
	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/token"
	"github.com/tte-agent/tte-agent/tsa"
)

const usage = `usage: tte-agent <command> [flags]

commands:
  run [--config FILE] [--policy FILE]
                          run the agent in the foreground (logs to stderr); it
                          reloads both files on SIGHUP or when they change
  tokens [--config FILE]  list tokens and certificates
  doctor [--config FILE] [--policy FILE]
                          check configuration, policy, modules, tokens,
                          certificates, the port and the PIN dialog; print fixes
  audit verify [--config FILE]
                          check the audit trail's hash chain
  audit report --from DATE --to DATE [--format text|csv|json] [--config FILE] [--trails DIR]
                          the evaluation summary for a period (dates YYYY-MM-DD, inclusive);
                          with --trails, for every workstation's trail collected under DIR
  service install|uninstall|start|stop|status [--system] [--config FILE]
                          start tte-agent at logon (or at boot with --system)
  verify [--config FILE] [--json] [--online] [--lang id|en] [--content FILE] FILE...
                          check every signature and time-stamp of PDFs and CMS
                          files; exit 0 only when all are valid
  policy write --origins LIST [--modules LIST] [--path FILE]
                          write the machine's policy and the browser
                          policies for its origins (installers use it)
  policy browsers [--remove] [--path FILE]
                          write (or remove) the browser policies alone
  encrypt [--config FILE] --to CERT.pem [--to ...] IN > OUT.p7m
                          encrypt a document to colleagues' certificates
                          (CMS; no token, no PIN)
  decrypt [--config FILE] [--certificate ID] IN.p7m > OUT
                          open a document encrypted to your token, through
                          your running agent's dialog
  browser-setup [--config FILE]
                          let the browsers use the token for TLS client
                          authentication (registers its module in NSS)
  native-host [--config FILE]
                          relay the browser extension's native messages to
                          the user's agent (browsers start it themselves)
  native-manifest [--browser chromium|firefox] [--path EXE]
                          print the host manifest (for packaging)
  man                     print the manual page (roff; man -l <(tte-agent man))
  version                 print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	if nativeHostCall(args) {
		err = cmdNativeHost(nil, os.Stdin, stdout, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "tte-agent: %v\n", err)
			return 1
		}
		return 0
	}
	switch args[0] {
	case "native-host":
		err = cmdNativeHost(args[1:], os.Stdin, stdout, stderr)
	case "encrypt":
		err = cmdEncrypt(args[1:], stdout, stderr)
	case "decrypt":
		err = cmdDecrypt(args[1:], stdout, stderr)
	case "browser-setup":
		err = cmdBrowserSetup(args[1:], stdout, stderr)
	case "native-manifest":
		err = cmdNativeManifest(args[1:], stdout, stderr)
	case "run":
		err = cmdRun(args[1:], stderr)
	case "tokens":
		err = cmdTokens(args[1:], stdout, stderr)
	case "audit":
		err = cmdAudit(args[1:], stdout, stderr)
	case "service":
		err = cmdService(args[1:], stdout, stderr)
	case "policy":
		err = cmdPolicy(args[1:], stdout, stderr)
	case "doctor":
		err = cmdDoctor(args[1:], stdout, stderr)
	case "verify":
		err = cmdVerify(args[1:], stdout, stderr)
	case "man":
		err = cmdMan(stdout)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "tte-agent %s (protocol 1)\n", agent.Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "tte-agent: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if errors.Is(err, errSilent) || errors.Is(err, errProblems) {
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "tte-agent: %v\n", err)
		return 1
	}
	return 0
}

// loadConfig reads path, or with no path the user's config file if it
// exists, under the machine's policy.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		path = userConfigPath()
	}
	return config.LoadWithPolicy(path, config.PolicyPath())
}

// userConfigPath is the user's config.toml, or "" when there is none.
func userConfigPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	p := filepath.Join(dir, "tte-agent", "config.toml")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// logLoaded says which files are in force and what the policy changed.
func logLoaded(log *slog.Logger, cfg *config.Config, userPath string) {
	log.Info("configuration", "config", orNone(userPath), "policy", orNone(cfg.PolicyPath))
	for _, n := range cfg.Notes {
		log.Warn(n)
	}
	if len(cfg.Origins) == 0 {
		log.Warn("no [[origins]] configured: every page will be refused")
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func cmdRun(args []string, stderr io.Writer) (rerr error) {
	// The handler is in place before anything opens: a stop that arrives
	// while the agent starts becomes a clean shutdown once it has started,
	// never a kill half-way.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (TOML); default: the user's config.toml if it exists")
	policy := fs.String("policy", config.PolicyPath(), "the administrator's policy (TOML); \"\" for none; a file named here must exist (at the default path a missing file means none)")
	verbose := fs.Bool("v", false, "log debug messages")
	bg := fs.Bool("background", false, "Windows: detach from the console and log to agent.log in the state directory (the logon start uses it)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to FILE until the agent stops (for docs/performance.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	userPath := *path
	if userPath == "" {
		userPath = userConfigPath()
	}
	if *bg {
		// Started at logon with no console: everything, failures to
		// start included, goes to the log file.
		w, done, err := background()
		if err != nil {
			return err
		}
		defer done()
		stderr = w
		defer func() {
			if rerr != nil {
				fmt.Fprintf(w, "tte-agent: %v\n", rerr)
			}
		}()
	}
	named := false
	fs.Visit(func(f *flag.Flag) { named = named || f.Name == "policy" })
	if _, err := os.Stat(*policy); named && *policy != "" && err != nil {
		// A policy named on the command line that is not there must not
		// mean "no policy".
		return fmt.Errorf("--policy %s: %w (give the path of an existing policy file)", *policy, err)
	}
	load := func() (*config.Config, error) { return config.LoadWithPolicy(userPath, *policy) }
	cfg, err := load()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	logLoaded(log, cfg, userPath)
	if err := harden(); err != nil {
		log.Warn("could not keep the agent's memory out of core dumps", "err", err)
	}
	if ctx.Err() != nil {
		log.Info("stopped before starting")
		return nil
	}
	d, err := agent.Start(cfg, agent.NewPrompter(cfg, log), log)
	if err != nil {
		return err
	}
	go watchConfig(ctx, []string{userPath, *policy}, func() {
		next, err := load()
		if err != nil {
			log.Error("configuration not reloaded: the old one stays in force", "err", err)
			return
		}
		if cfg.PolicyPath != "" && next.PolicyPath == "" {
			// Deleting the policy must not lift it from a running agent.
			log.Error("the policy file is gone: the last good policy stays in force; restore it (or restart the agent to run without one)", "policy", cfg.PolicyPath)
			return
		}
		logLoaded(log, next, userPath)
		d.Reload(next)
		cfg = next
	})
	// Started by the Windows service manager: it says when to stop.
	go func() {
		if err := serviceRun(stop); err != nil {
			log.Error("the service manager failed", "err", err)
			stop()
		}
	}()
	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err := <-d.Done():
		if err != nil {
			return fmt.Errorf("the server failed: %w", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return d.Close(sctx)
}

func cmdTokens(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokens", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (TOML)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := token.Open(cfg.PKCS11.Modules, log)
	if err != nil {
		return err
	}
	defer p.Close()
	return printTokens(stdout, p, time.Now())
}

func cmdAudit(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "report" {
		return cmdAuditReport(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, "usage: tte-agent audit verify|report [flags]\n")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (TOML)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	files, err := audit.Files(cfg.Audit.Path)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no audit trail at %s", cfg.Audit.Path)
	}
	n, err := audit.Verify(cfg.Audit.Path)
	if err != nil {
		return fmt.Errorf("the audit trail is NOT intact after %d good records: %w", n, err)
	}
	fmt.Fprintf(stdout, "audit trail intact: %d records in %d files (%s)\n", n, len(files), cfg.Audit.Path)
	return nil
}

func cmdAuditReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (TOML)")
	fromS := fs.String("from", "", "first day, YYYY-MM-DD")
	toS := fs.String("to", "", "last day, YYYY-MM-DD (inclusive)")
	format := fs.String("format", "text", "text, csv or json")
	trails := fs.String("trails", "", "a directory of trails collected from many workstations (one directory with an audit.log per workstation): the organisation's report, each trail verified on its own")
	if err := fs.Parse(args); err != nil {
		return err
	}
	from, err1 := time.ParseInLocation("2006-01-02", *fromS, time.Local)
	to, err2 := time.ParseInLocation("2006-01-02", *toS, time.Local)
	if err1 != nil || err2 != nil || to.Before(from) {
		return fmt.Errorf("--from and --to are dates YYYY-MM-DD, --to not before --from")
	}
	if *trails != "" {
		org, err := audit.SummarizeTree(*trails, from, to.AddDate(0, 0, 1))
		if err != nil {
			return err
		}
		switch *format {
		case "text":
			err = org.WriteText(stdout)
		case "csv":
			err = org.WriteCSV(stdout)
		case "json":
			err = org.WriteJSON(stdout)
		default:
			return fmt.Errorf("--format %q: use text, csv or json", *format)
		}
		if err == nil && !org.Intact {
			err = fmt.Errorf("some workstations' audit trails are not intact (see the report)")
		}
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if cfg.TSA.URL != "" {
		// Each report anchors the head it reports on, so that a trail
		// cut or rewritten after the report is told by audit verify.
		if err := anchorNow(cfg); err != nil {
			fmt.Fprintf(stderr, "tte-agent: warning: %v\n", err)
		}
	}
	rep, err := audit.Summarize(cfg.Audit.Path, from, to.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	switch *format {
	case "text":
		err = rep.WriteText(stdout)
	case "csv":
		err = rep.WriteCSV(stdout)
	case "json":
		err = rep.WriteJSON(stdout)
	default:
		return fmt.Errorf("--format %q: use text, csv or json", *format)
	}
	if err == nil && !rep.Intact {
		err = fmt.Errorf("the audit trail is not intact: %s", rep.Problem)
	}
	return err
}

// anchorNow time-stamps the trail's current head with the configured TSA.
func anchorNow(cfg *config.Config) error {
	seq, hash, err := audit.Head(cfg.Audit.Path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = audit.AnchorHead(ctx, cfg.Audit.Path, seq, hash, tsa.New(cfg.TSA.URL))
	return err
}
