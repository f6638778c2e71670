package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/trust"
	"github.com/tte-agent/tte-agent/tsa"
	pdfverify "github.com/tte-agent/tte-agent/verify"
)

// tsaLatency is what the loopback TSA adds to every request in (l): a
// distant national TSA as seen from a regional office.
const tsaLatency = 150 * time.Millisecond

// scenarioLongTerm is (l): n PDFs of about 1 MiB signed at B-LT in one
// sign.pdf against a TSA 150 ms away, against the time the same batch
// takes at B-B plus n sequential time-stamps.
func (b *bench) scenarioLongTerm(r *report, runs, n int) error {
	pdf := letterPDF(1 << 20)
	c, err := dial(b.url, benchOrigin)
	if err != nil {
		return err
	}
	defer c.Close()
	b.tsa.SetDelay(tsaLatency)
	defer b.tsa.SetDelay(0)

	// One time-stamp request as the agent makes it, alone.
	var stamps []time.Duration
	client := tsa.New(b.tsa.URL)
	sum := sha256.Sum256([]byte("bench"))
	for range 5 {
		start := time.Now()
		if _, err := client.Stamp(context.Background(), crypto.SHA256, sum[:]); err != nil {
			return err
		}
		stamps = append(stamps, time.Since(start))
	}
	stamp := median(stamps)

	ocspBefore := b.pki.Hits("/ocsp")
	var bbs, lts []time.Duration
	var last protocol.SignPDFResult
	for range runs {
		for _, level := range []protocol.Level{protocol.LevelBB, protocol.LevelBLT} {
			items, err := uploadPDFs(c, pdf, n)
			if err != nil {
				return err
			}
			start := time.Now()
			var res protocol.SignPDFResult
			if err := c.call("sign.pdf", map[string]any{"certificateId": b.certID(rsaID), "level": level, "items": items}, &res); err != nil {
				return fmt.Errorf("sign.pdf %s: %w", level, err)
			}
			took := time.Since(start)
			if level == protocol.LevelBB {
				bbs = append(bbs, took)
			} else {
				lts = append(lts, took)
				last = res
			}
		}
	}
	ocsp := b.pki.Hits("/ocsp") - ocspBefore
	// The verifier checks the first and last document offline.
	anchors, err := trust.Load([]string{b.pki.RootFile, b.tsa.CAFile})
	if err != nil {
		return err
	}
	for _, i := range []int{0, n - 1} {
		signed := append(append([]byte{}, pdf...), last.Items[i].Update...)
		rep := pdfverify.PDF(context.Background(), "signed.pdf", bytes.NewReader(signed), int64(len(signed)), pdfverify.Options{Trust: trust.NewStore(anchors, nil, nil)})
		if !rep.Valid || rep.Signatures[0].Level != "B-LT" {
			p := filepath.Join(b.dir, "lt-failed.pdf")
			os.WriteFile(p, signed, 0o600)
			return fmt.Errorf("signed PDF %d is not a valid B-LT signature (kept as %s)", i, p)
		}
	}
	bb, lt := median(bbs), median(lts)
	sequential := bb + time.Duration(n)*stamp
	ratio := lt.Seconds() / sequential.Seconds()
	r.add(section{
		title: fmt.Sprintf("(l) %d PDFs of 1 MiB through sign.pdf at B-LT, the TSA %v away", n, tsaLatency),
		rows: [][2]string{
			{"one time-stamp request alone (median of 5)", fmt.Sprintf("%v", stamp.Round(time.Millisecond))},
			{"the batch at B-B (median)", fmt.Sprintf("%v", bb.Round(time.Millisecond))},
			{"the batch at B-LT: time-stamps, DSS updates (median)", fmt.Sprintf("%v = %.1f documents/s", lt.Round(time.Millisecond), float64(n)/lt.Seconds())},
			{"sequential time-stamping would take (B-B + n × one request)", fmt.Sprintf("%v", sequential.Round(time.Millisecond))},
			{"B-LT ÷ sequential", fmt.Sprintf("%.2f (target ≤ 0.50)", ratio)},
			{fmt.Sprintf("OCSP requests over %d B-LT batches", runs), fmt.Sprintf("%d (target ≤ 1: cached until nextUpdate)", ocsp)},
		},
		pass: ratio <= 0.50 && ocsp <= 1,
		note: "Time-stamps go 16 at a time; the signer's OCSP answer and the chain's CRLs are fetched once and shared. The verifier checked the first and last signed PDF offline.",
	})
	return nil
}
