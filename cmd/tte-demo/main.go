// Command tte-demo runs the demo: it starts a demo certificate authority
// (root and intermediate, with OCSP responder, CRLs and AIA) and a demo
// time-stamping authority on loopback, creates a SoftHSM demo token with an
// ASN certificate from that CA in the user's state directory (afresh at
// each start: the CA's keys live only as long as the demo), starts
// tte-agent allowing the demo origin, serves the demo e-office page on
// 127.0.0.1 and prints the URL to open. `make demo` runs it.
package main

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tte-agent/tte-agent/agent"
	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/revocation/revtest"
	"github.com/tte-agent/tte-agent/token/softhsm"
	"github.com/tte-agent/tte-agent/tsa/tsatest"
	"github.com/tte-agent/tte-agent/web"
)

const (
	demoPIN   = "123456"
	demoSOPIN = "12345678"
	demoLabel = "ASN Demo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "tte-demo: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	webAddr := flag.String("web", "127.0.0.1:14580", "address of the demo e-office page")
	agentAddr := flag.String("listen", config.DefaultListen, "address of the agent")
	extra := flag.String("origins", os.Getenv("TTE_DEMO_ORIGINS"), "more origins the demo agent allows (comma-separated), e.g. your own e-office in development; `make demo ORIGINS=...`")
	flag.Parse()
	var more strings.Builder
	for _, o := range strings.Split(*extra, ",") {
		if o = strings.TrimSpace(o); o != "" {
			fmt.Fprintf(&more, "[[origins]]\norigin = %q\nallow = [\"documents\", \"digest\", \"extend\", \"verify\", \"encrypt\", \"decrypt\"]\n", o)
		}
	}

	state, err := config.StateDir()
	if err != nil {
		return err
	}
	dir := filepath.Join(state, "demo")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "pki"), 0o700); err != nil {
		return err
	}
	pki, err := revtest.Start(filepath.Join(dir, "pki"), revtest.Options{
		RootName: "Demo Root CA Indonesia DS G1 (TIDAK RESMI)", InterName: "Demo BSrE CA DS G1 (TIDAK RESMI)"})
	if err != nil {
		return fmt.Errorf("failed to start the demo CA: %w", err)
	}
	defer pki.Close()
	stamps, err := tsatest.New(filepath.Join(dir, "pki"))
	if err != nil {
		return fmt.Errorf("failed to start the demo TSA: %w", err)
	}
	defer stamps.Close()
	store, serial, err := createToken(dir, pki)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(*webAddr)
	cfgPath := filepath.Join(dir, "config.toml")
	conf := fmt.Sprintf(`# Written by tte-demo.
listen = %q
[pkcs11]
modules = [%q]
# SoftHSM reads its tokens only at start: look again every 2 s.
rescan = "2s"
[pinentry]
program = "pinentry"
timeout = "120s"
[[origins]]
origin = "http://127.0.0.1:%s"
allow = ["documents", "digest", "extend", "verify", "encrypt", "decrypt"]
[[origins]]
origin = "http://localhost:%s"
allow = ["documents", "digest", "extend", "verify", "encrypt", "decrypt"]
%s[metrics]
listen = ""
# The demo CA's OCSP responder, CRLs and TSA run inside tte-demo.
[tsa]
url = %q
[trust]
anchors = [%q, %q]
[revocation]
mode = "prefer"
`, *agentAddr, store.Module, port, port, more.String(), stamps.URL, pki.RootFile, stamps.CAFile)
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	// The agent loads SoftHSM in this process; point it at the demo store.
	os.Setenv("SOFTHSM2_CONF", store.Conf)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d, err := agent.Start(cfg, agent.NewPrompter(cfg, log), log)
	if err != nil {
		return err
	}

	l, err := net.Listen("tcp", *webAddr)
	if err != nil {
		d.Close(context.Background())
		return fmt.Errorf("failed to serve the demo page on %s: %w (pass -web 127.0.0.1:PORT)", *webAddr, err)
	}
	srv := &http.Server{Handler: web.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)

	open := fmt.Sprintf("http://127.0.0.1:%s/", port)
	verifyPage := open + "verify.html"
	if d.URL() != "ws://"+config.DefaultListen+wsserver.Path {
		// The pages look for the agent on its default port unless told.
		q := "?agent=" + url.QueryEscape(d.URL())
		open, verifyPage = open+q, verifyPage+q
	}
	fmt.Printf(`
tte-agent demo is running.

  Open:        %s
  Verify:      %s
  Token:       %q (SoftHSM, serial %s)
  Demo PIN:    %s
  Agent:       %s
  Config:      %s
  Demo CA:     %s (OCSP, CRL; trust anchor: %s)
  Demo TSA:    %s

The PIN dialog appears in this terminal (pinentry-curses) or on your desktop.

From another terminal, with the demo token (SoftHSM finds it through
SOFTHSM2_CONF; the config is rewritten at every start, so add your own
origins with: make demo ORIGINS=https://eoffice.example.go.id):
  SOFTHSM2_CONF=%s tte-agent tokens --config %s
  SOFTHSM2_CONF=%s tte-agent doctor --config %s --policy ""

Press Ctrl+C to stop.
`, open, verifyPage, demoLabel, serial, demoPIN, d.URL(), cfgPath, pki.URL, pki.RootFile, stamps.URL,
		shellQuote(store.Conf), shellQuote(cfgPath), shellQuote(store.Conf), shellQuote(cfgPath))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-d.Done():
		if err != nil {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return d.Close(sctx)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// createToken creates the demo token with an ASN certificate issued by the
// demo CA's intermediate, which the token carries too.
func createToken(dir string, pki *revtest.PKI) (*softhsm.Store, string, error) {
	store, err := softhsm.NewStore(dir)
	if err != nil {
		return nil, "", err
	}
	tok, err := store.CreateToken(softhsm.TokenSpec{
		Label: demoLabel, PIN: demoPIN, SOPIN: demoSOPIN,
		Keys: []softhsm.KeySpec{{
			Label: "ASN Demo RSA", ID: []byte{0x01}, Type: "RSA-2048",
			// One certificate for signatures and document protection,
			// as an ASN's BSrE certificate serves both.
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment,
			Subject: pkix.Name{
				CommonName:         "Budi Santoso, S.Kom.",
				Organization:       []string{"Pemerintah Kota Demo"},
				OrganizationalUnit: []string{"Dinas Komunikasi dan Informatika"},
				Country:            []string{"ID"},
			},
		}},
		ExtraCerts: []*x509.Certificate{pki.Inter},
	}, pki.CA())
	if err != nil {
		return nil, "", fmt.Errorf("failed to create the demo token: %w", err)
	}
	return store, tok.Serial, nil
}
