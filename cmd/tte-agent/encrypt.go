package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/tte-agent/tte-agent/agent"
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
	client := &http.Client{Timeout: time.Duration(cfg.Revocation.Timeout)}
	store := trust.NewStore(cfg.Trust.ParsedAnchors, append(cfg.Trust.ParsedIntermediates, cfg.Certificates.Parsed...), client)
	rc := revocation.NewChecker(client)
	rc.MaxCRL = cfg.Revocation.MaxCRLBytes
	warn := func(w string) { fmt.Fprintf(stderr, "tte-agent: warning: %s\n", w) }
	var certs []*x509.Certificate
	for _, f := range to {
		c, err := readCertificate(f)
		if err != nil {
			return err
		}
		if err := agent.CheckRecipient(context.Background(), cfg.Revocation.Mode, store, rc, c, time.Now(), warn); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		certs = append(certs, c)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	// Encrypted as it is read: a document of any size takes little memory.
	enc, err := envelope.NewEncryptor(certs, envelope.Options{Cipher: envelope.Cipher(*cipher), RSAPadding: envelope.RSAPadding(*padding)}, fi.Size())
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(stdout, 256<<10)
	if err := enc.Encrypt(w, f); err != nil {
		return err
	}
	return w.Flush()
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
