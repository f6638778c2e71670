package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tte-agent/tte-agent/web"
)

// browserTimes is what web/bench/chromium.mjs prints.
type browserTimes struct {
	Fetch, CMS, PDF    []float64 // milliseconds per run
	DocBytes, PDFBytes int64
}

func medianMs(v []float64) time.Duration {
	s := append([]float64{}, v...)
	sort.Float64s(s)
	return time.Duration(s[len(s)/2] * float64(time.Millisecond))
}

// scenarioBrowser (w) measures what users feel: the project's JS client in
// Debian's chromium, from a page on an allowed origin, sending one
// document of size bytes (sign.cms) and n PDFs of 1 MiB (sign.pdf), against
// sha256sum of the same bytes and the same browser's bare fetch() POST to
// a loopback sink; the batch also against the Go client's time.
func (b *bench) scenarioBrowser(r *report, runs int, size int64, n int) error {
	if err := needBrowser(); err != nil {
		return err
	}
	docPath := filepath.Join(b.dir, "browser-doc.bin")
	if err := writeRandom(docPath, size); err != nil {
		return err
	}
	defer os.Remove(docPath)
	letter := letterPDF(1 << 20)
	var sums []time.Duration
	for range runs {
		start := time.Now()
		if err := exec.Command("sha256sum", docPath).Run(); err != nil {
			return fmt.Errorf("sha256sum: %w", err)
		}
		sums = append(sums, time.Since(start))
	}
	// The Go client's batch, for the comparison.
	var goRuns []time.Duration
	c, err := dial(b.url, benchOrigin)
	if err != nil {
		return err
	}
	for range runs {
		start := time.Now()
		items, err := uploadPDFs(c, letter, n)
		if err != nil {
			c.Close()
			return err
		}
		if _, err := b.signPDFs(c, items); err != nil {
			c.Close()
			return err
		}
		goRuns = append(goRuns, time.Since(start))
	}
	c.Close()

	stop, err := b.servePage("w", func(mux *http.ServeMux) {
		mux.HandleFunc("GET /doc.bin", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, docPath) })
		mux.HandleFunc("GET /letter.pdf", func(w http.ResponseWriter, _ *http.Request) { w.Write(letter) })
		mux.HandleFunc("POST /sink", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusNoContent)
		})
	})
	if err != nil {
		return err
	}
	defer stop()
	out, err := b.chromium("w", b.url, runs, n)
	if err != nil {
		return err
	}
	var t browserTimes
	if err := json.Unmarshal(out, &t); err != nil || len(t.CMS) == 0 {
		return fmt.Errorf("chromium printed %q: %v", out, err)
	}
	sum, fetch, cms, pdf, goBatch := median(sums), medianMs(t.Fetch), medianMs(t.CMS), medianMs(t.PDF), median(goRuns)
	mb := float64(size) / 1e6
	ceiling := fetch.Seconds() / cms.Seconds()
	r.add(section{
		title: fmt.Sprintf("(w) Chromium, the project's JS client: one %d MiB document with sign.cms", size>>20),
		rows: [][2]string{
			{"sha256sum of the same bytes", fmt.Sprintf("%v = %.0f MB/s", sum.Round(time.Millisecond), mb/sum.Seconds())},
			{"the browser's bare fetch() POST to a loopback sink (its ceiling)", fmt.Sprintf("%v = %.0f MB/s", fetch.Round(time.Millisecond), mb/fetch.Seconds())},
			{"client signCms: upload (one HTTP POST) + sign.cms", fmt.Sprintf("%v = %.0f MB/s", cms.Round(time.Millisecond), mb/cms.Seconds())},
			{"signCms ÷ sha256sum throughput", fmt.Sprintf("%.2f", sum.Seconds()/cms.Seconds())},
			{"signCms ÷ the browser's ceiling", fmt.Sprintf("%.2f (target ≥ 0.70)", ceiling)},
		},
		pass: ceiling >= 0.7,
	})
	ratio := pdf.Seconds() / goBatch.Seconds()
	r.add(section{
		title: fmt.Sprintf("(w) Chromium, the project's JS client: %d PDFs of 1 MiB with sign.pdf (B-B)", n),
		rows: [][2]string{
			{"client signPdf, end to end", fmt.Sprintf("%v = %.0f documents/s, %.0f MB/s", pdf.Round(time.Millisecond), float64(n)/pdf.Seconds(), float64(t.PDFBytes)/1e6/pdf.Seconds())},
			{"the Go client, same batch (frames)", fmt.Sprintf("%v", goBatch.Round(time.Millisecond))},
			{"browser ÷ Go client time", fmt.Sprintf("%.2f (target ≤ 2.00)", ratio)},
		},
		pass: ratio <= 2,
		note: "The page fetches the document and the letter from its own origin first; only the calls are timed.",
	})
	return nil
}

// servePage serves the bench page and the project's client on the page
// port (an allowed origin), with the scenario's own handlers, until stop.
func (b *bench) servePage(scenario string, handlers func(*http.ServeMux)) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /client.js", web.Handler())
	mux.Handle("GET /lib/", web.Handler())
	mux.HandleFunc("GET /bench.html", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>tte-bench</title><p>tte-bench scenario %s</p>", scenario)
	})
	handlers(mux)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", b.pagePort))
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	return func() { srv.Shutdown(context.Background()) }, nil
}

// chromium runs web/bench/chromium.mjs for a scenario against the agent at
// url and returns the JSON it printed.
func (b *bench) chromium(scenario, url string, runs, pdfs int) ([]byte, error) {
	cmd := exec.Command("node", "web/bench/chromium.mjs")
	cmd.Env = append(os.Environ(), "TTE_SCENARIO="+scenario, fmt.Sprintf("TTE_PAGE=http://127.0.0.1:%d/bench.html", b.pagePort), "TTE_AGENT="+url,
		"TTE_CERT="+b.certID(rsaID), fmt.Sprintf("TTE_RUNS=%d", runs), fmt.Sprintf("TTE_PDFS=%d", pdfs))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("chromium: %v\n%s", err, stderr.String())
	}
	return out, nil
}
