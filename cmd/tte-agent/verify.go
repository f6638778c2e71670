package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tte-agent/tte-agent/revocation"
	"github.com/tte-agent/tte-agent/trust"
	"github.com/tte-agent/tte-agent/verify"
)

// maxCMSFile bounds a CMS signature file read into memory.
const maxCMSFile = 64 << 20

// cmdVerify is `tte-agent verify`: it reports on every signature and
// document time-stamp of each file and exits 0 only when all are valid.
func cmdVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (its [trust] anchors are the trust anchors)")
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	online := fs.Bool("online", false, "fetch revocation data the files lack (OCSP, CRL, AIA)")
	lang := fs.String("lang", "", `language of the text report: "id" (default) or "en"`)
	content := fs.String("content", "", "the signed content of a detached CMS signature (default: the signature's name without .p7s, .p7m or .sig)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: tte-agent verify [--config FILE] [--json] [--online] [--lang id|en] [--content FILE] FILE...")
		return flag.ErrHelp
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	if *lang == "" {
		*lang = cfg.Pinentry.Language
	}
	if len(cfg.Trust.ParsedAnchors) == 0 {
		fmt.Fprintln(stderr, "tte-agent: no trust anchors are configured ([trust] anchors): no chain can be trusted; see docs/deployment.md")
	}
	client := &http.Client{Timeout: time.Duration(cfg.Revocation.Timeout)}
	var aia *http.Client
	if *online {
		aia = client
	}
	opts := verify.Options{Trust: trust.NewStore(cfg.Trust.ParsedAnchors, append(cfg.Trust.ParsedIntermediates, cfg.Certificates.Parsed...), aia)}
	if *online {
		rc := revocation.NewChecker(client)
		rc.MaxCRL = cfg.Revocation.MaxCRLBytes
		opts.Online = rc
	}
	ctx := context.Background()
	var reports []*verify.Report
	for _, path := range fs.Args() {
		reports = append(reports, verifyFile(ctx, path, *content, opts))
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			return err
		}
	} else {
		verify.WriteText(stdout, reports, *lang)
	}
	for _, r := range reports {
		if !r.Valid {
			return errSilent
		}
	}
	return nil
}

func verifyFile(ctx context.Context, path, content string, opts verify.Options) *verify.Report {
	f, err := os.Open(path)
	if err != nil {
		return &verify.Report{File: path, Error: err.Error()}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return &verify.Report{File: path, Error: err.Error()}
	}
	head := make([]byte, min(1024, st.Size()))
	f.ReadAt(head, 0)
	if bytes.Contains(head, []byte("%PDF-")) {
		return verify.PDF(ctx, path, f, st.Size(), opts)
	}
	if st.Size() > maxCMSFile {
		return &verify.Report{File: path, Format: "cms", Error: fmt.Sprintf("larger than %d bytes: not a PDF, and too large for a CMS signature", maxCMSFile)}
	}
	der, err := os.ReadFile(path)
	if err != nil {
		return &verify.Report{File: path, Error: err.Error()}
	}
	if block := pemCMS(der); block != nil {
		der = block
	}
	if content == "" {
		for _, ext := range []string{".p7s", ".p7m", ".sig"} {
			if c, ok := strings.CutSuffix(path, ext); ok {
				if _, err := os.Stat(c); err == nil {
					content = c
				}
			}
		}
	}
	var r io.Reader
	if content != "" {
		cf, err := os.Open(content)
		if err != nil {
			return &verify.Report{File: path, Format: "cms", Error: err.Error()}
		}
		defer cf.Close()
		r = cf
	}
	return verify.CMS(ctx, path, der, r, opts)
}

// pemCMS returns the DER inside a PEM "CMS" or "PKCS7" block, or nil.
func pemCMS(data []byte) []byte {
	b, _ := pem.Decode(data)
	if b != nil && (b.Type == "CMS" || b.Type == "PKCS7") {
		return b.Bytes
	}
	return nil
}
