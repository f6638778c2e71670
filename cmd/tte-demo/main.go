// Command tte-demo runs the demo: it creates (once) a SoftHSM demo token
// with a demo CA and an ASN certificate in the user's state directory,
// starts tte-agent allowing the demo origin, serves the demo e-office page
// on 127.0.0.1 and prints the URL to open. `make demo` runs it.
package main

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tte-agent/tte-agent/agent"
	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/token/softhsm"
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
	flag.Parse()

	state, err := config.StateDir()
	if err != nil {
		return err
	}
	dir := filepath.Join(state, "demo")
	store, serial, err := ensureToken(dir)
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
allow = ["documents", "digest"]
[[origins]]
origin = "http://localhost:%s"
allow = ["documents", "digest"]
[metrics]
listen = ""
`, *agentAddr, store.Module, port, port)
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
	if d.URL() != "ws://"+config.DefaultListen+wsserver.Path {
		// The page looks for the agent on its default port unless told.
		open += "?agent=" + url.QueryEscape(d.URL())
	}
	fmt.Printf(`
tte-agent demo is running.

  Open:        %s
  Token:       %q (SoftHSM, serial %s)
  Demo PIN:    %s
  Agent:       %s
  Config:      %s

The PIN dialog appears in this terminal (pinentry-curses) or on your desktop.
Press Ctrl+C to stop.
`, open, demoLabel, serial, demoPIN, d.URL(), cfgPath)

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

type marker struct {
	Serial string `json:"serial"`
}

// ensureToken creates the demo token once; later runs reuse it.
func ensureToken(dir string) (*softhsm.Store, string, error) {
	markerPath := filepath.Join(dir, "demo.json")
	if data, err := os.ReadFile(markerPath); err == nil {
		var m marker
		if json.Unmarshal(data, &m) == nil && m.Serial != "" {
			store, err := softhsm.NewStore(dir)
			return store, m.Serial, err
		}
	}
	// No complete demo token: start afresh.
	if err := os.RemoveAll(dir); err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	store, err := softhsm.NewStore(dir)
	if err != nil {
		return nil, "", err
	}
	ca, err := softhsm.NewCA(pkix.Name{
		CommonName:   "Demo BSrE CA (TIDAK RESMI)",
		Organization: []string{"tte-agent demo"},
		Country:      []string{"ID"},
	})
	if err != nil {
		return nil, "", err
	}
	tok, err := store.CreateToken(softhsm.TokenSpec{
		Label: demoLabel, PIN: demoPIN, SOPIN: demoSOPIN,
		Keys: []softhsm.KeySpec{{
			Label: "ASN Demo RSA", ID: []byte{0x01}, Type: "RSA-2048",
			Subject: pkix.Name{
				CommonName:         "Budi Santoso, S.Kom.",
				Organization:       []string{"Pemerintah Kota Demo"},
				OrganizationalUnit: []string{"Dinas Komunikasi dan Informatika"},
				Country:            []string{"ID"},
			},
		}},
	}, ca)
	if err != nil {
		return nil, "", fmt.Errorf("failed to create the demo token: %w", err)
	}
	if err := softhsm.WriteCertPEM(filepath.Join(dir, "ca.pem"), ca.Cert); err != nil {
		return nil, "", err
	}
	data, _ := json.Marshal(marker{Serial: tok.Serial})
	if err := os.WriteFile(markerPath, data, 0o600); err != nil {
		return nil, "", err
	}
	return store, tok.Serial, nil
}
