package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/envelope"
	"github.com/tte-agent/tte-agent/revocation"
	"github.com/tte-agent/tte-agent/trust"
)

// recipientsFlag collects --to files.
type recipientsFlag []string

func (r *recipientsFlag) String() string     { return fmt.Sprint(*r) }
func (r *recipientsFlag) Set(v string) error { *r = append(*r, v); return nil }

// cmdEncrypt encrypts a document to colleagues' certificates, no token
// and no PIN: `tte-agent encrypt --to CERT.pem [--to …] IN > OUT.p7m`.
func cmdEncrypt(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("encrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file ([trust] anchors and [revocation] mode check the recipients)")
	var to recipientsFlag
	fs.Var(&to, "to", "a recipient's certificate (PEM or DER); repeat for several")
	cipher := fs.String("cipher", string(envelope.AES256GCM), "AES-256-GCM (AuthEnvelopedData) or AES-256-CBC (EnvelopedData, for older readers)")
	padding := fs.String("rsa-padding", string(envelope.RSAOAEP), "RSA-OAEP (SHA-256) or RSA-PKCS1-v1_5 (for older readers and tokens)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(to) == 0 || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: tte-agent encrypt [--config FILE] --to CERT.pem [--to ...] [--cipher AES-256-GCM|AES-256-CBC] [--rsa-padding RSA-OAEP|RSA-PKCS1-v1_5] IN > OUT.p7m")
		return flag.ErrHelp
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	var certs []*x509.Certificate
	for _, f := range to {
		c, err := readCertificate(f)
		if err != nil {
			return err
		}
		if err := checkRecipient(context.Background(), cfg, c, time.Now(), stderr); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		certs = append(certs, c)
	}
	content, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	der, err := envelope.Encrypt(content, certs, envelope.Options{Cipher: envelope.Cipher(*cipher), RSAPadding: envelope.RSAPadding(*padding)})
	if err != nil {
		return err
	}
	_, err = stdout.Write(der)
	return err
}

// readCertificate reads one certificate, PEM or DER.
func readCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(data); b != nil {
		data = b.Bytes
	}
	c, err := x509.ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not a certificate: %w", path, err)
	}
	return c, nil
}

// errRecipientRevoked means a recipient's certificate is revoked.
var errRecipientRevoked = errors.New("the recipient's certificate is revoked: they could no longer be trusted with the document")

// checkRecipient checks a recipient's certificate as the agent checks a
// signer's: key usage, validity now, and under [revocation] mode its chain
// to a trust anchor and its revocation status (require refuses what cannot
// be checked; prefer says so and goes on; off checks neither).
func checkRecipient(ctx context.Context, cfg *config.Config, c *x509.Certificate, now time.Time, warn io.Writer) error {
	if err := envelope.CheckRecipient(c); err != nil {
		return err
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return fmt.Errorf("%w: %s is valid from %s to %s", envelope.ErrRecipient, c.Subject.CommonName, c.NotBefore.Format(time.DateOnly), c.NotAfter.Format(time.DateOnly))
	}
	mode := cfg.Revocation.Mode
	if mode == config.RevocationOff {
		return nil
	}
	unchecked := func(why error) error {
		if mode == config.RevocationRequire {
			return fmt.Errorf("%w: %s cannot be checked ([revocation] mode = require): %v", envelope.ErrRecipient, c.Subject.CommonName, why)
		}
		fmt.Fprintf(warn, "tte-agent: warning: %s's certificate was not checked for revocation: %v\n", c.Subject.CommonName, why)
		return nil
	}
	client := &http.Client{Timeout: time.Duration(cfg.Revocation.Timeout)}
	store := trust.NewStore(cfg.Trust.ParsedAnchors, append(cfg.Trust.ParsedIntermediates, cfg.Certificates.Parsed...), client)
	chain, err := store.Chain(ctx, c, nil, now)
	if err != nil {
		return unchecked(err)
	}
	if len(chain) < 2 {
		return unchecked(errors.New("a trust anchor itself is no recipient"))
	}
	rc := revocation.NewChecker(client)
	rc.MaxCRL = cfg.Revocation.MaxCRLBytes
	res, err := rc.Check(ctx, c, chain[1])
	if err != nil {
		return unchecked(err)
	}
	if res.Status == revocation.Revoked {
		return fmt.Errorf("%w (%s, %s)", errRecipientRevoked, res.RevokedAt.Format(time.DateOnly), revocation.ReasonText(res.Reason))
	}
	if res.Status != revocation.Good {
		return unchecked(fmt.Errorf("its status is %v", res.Status))
	}
	return nil
}
