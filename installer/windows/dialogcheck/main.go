//go:build windows

// Command dialogcheck is a test helper run under wine by
// installer/windows: it asks for a PIN through the agent's own Prompter
// (agent.NewPrompter with no pinentry program, which is the native dialog)
// and prints what came back as JSON.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"time"

	"github.com/tte-agent/tte-agent/agent"
	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/pinentry"
)

func main() {
	timeout := flag.Duration("timeout", 60*time.Second, "dialog timeout")
	confirm := flag.Bool("confirm", false, "a PIN-pad confirmation instead of a PIN")
	flag.Parse()
	cfg := config.Default()
	cfg.Pinentry.Timeout = config.Duration(*timeout)
	p := agent.NewPrompter(cfg, slog.Default())
	d := consent.Dialog("id", consent.Request{
		Origin: "https://eoffice.kota.go.id", Subject: "Siti Rahmawati", Issuer: "BSrE",
		NotAfter: time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), Items: []string{"surat-001.pdf", "surat-002.pdf"}, TotalBytes: 48213,
		PINStatus: "final_try", PINPad: *confirm,
	})
	out := map[string]string{"prompter": typeName(p)}
	var err error
	if *confirm {
		err = p.Confirm(context.Background(), d)
	} else {
		var pin []byte
		pin, err = p.GetPIN(context.Background(), d)
		out["pin"] = string(pin)
	}
	switch {
	case err == nil:
		out["result"] = "ok"
	case errors.Is(err, pinentry.ErrCancelled):
		out["result"] = "cancelled"
	case errors.Is(err, pinentry.ErrTimeout):
		out["result"] = "timeout"
	default:
		out["result"] = "error: " + err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func typeName(p agent.Prompter) string {
	if _, ok := p.(*pinentry.Program); ok {
		return "pinentry"
	}
	return "native"
}
