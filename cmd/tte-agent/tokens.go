package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tte-agent/tte-agent/agent"
	"github.com/tte-agent/tte-agent/token"
)

// printTokens writes the tokens and their certificates for a terminal.
func printTokens(w io.Writer, p *token.Provider, now time.Time) error {
	mods := p.Modules()
	if len(mods) == 0 {
		fmt.Fprintln(w, "No PKCS#11 module is configured or installed; set [pkcs11] modules in the configuration.")
		return nil
	}
	toks, err := p.Tokens()
	if err != nil {
		return err
	}
	certs, err := p.Certificates()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Modules: %s\n", strings.Join(mods, ", "))
	if len(toks) == 0 {
		fmt.Fprintln(w, "\nNo token found. Insert the token, or check that its module is in [pkcs11] modules.")
		return nil
	}
	for _, t := range toks {
		pad := "no"
		if t.ProtectedAuthPath {
			pad = "yes"
		}
		fmt.Fprintf(w, "\nToken %q  serial %s\n", t.Label, t.Serial)
		fmt.Fprintf(w, "  %s %s, PIN %s, PIN pad %s\n", t.Manufacturer, t.Model, t.PINStatus, pad)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		n := 0
		for _, c := range certs {
			if c.Token != t.Serial {
				continue
			}
			n++
			days := agent.DaysLeft(c.Cert, now)
			state := fmt.Sprintf("%d days left", days)
			if days < 0 {
				state = "EXPIRED"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\tissuer %s\tuntil %s (%s)\n", c.ID, c.Cert.Subject.CommonName,
				agent.KeyType(c.Cert), c.Cert.Issuer.CommonName, c.Cert.NotAfter.Format("2006-01-02"), state)
		}
		tw.Flush()
		if n == 0 {
			fmt.Fprintln(w, "  no certificate with a private key")
		}
	}
	return nil
}
