package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/tte-agent/tte-agent/trust"
	pdfverify "github.com/tte-agent/tte-agent/verify"
)

// cardDelay is how long the slow token of (t) takes per signature: a
// smartcard or USB token signs RSA-2048 in 0.1 to 1 s.
const cardDelay = 300 * time.Millisecond

// tokenBoundTimes is what web/bench/chromium.mjs prints for (t), in
// milliseconds from the click (the call to signPdf).
type tokenBoundTimes struct {
	Dialog     float64  // the agent asks the user (progress awaiting_user)
	Signing    float64  // the user consented: the token starts (progress signing)
	LastSigned float64  // the token made its last signature
	Total      float64  // signPdf resolved with every signed PDF
	Levels     []string // the levels of the results
}

// scenarioTokenBound is (t): the time a user waits for n PDFs of 1 MiB at
// B-LT from Chromium with the project's client, when the token signs at
// a smartcard's pace (softhsm.BuildSlowModule: cardDelay per signature,
// one at a time) and the TSA is tsaLatency away. The batch should take
// the token's time: uploads, parsing, time-stamps and validation data
// overlap the signatures.
func (b *bench) scenarioTokenBound(r *report, n int) error {
	if err := needBrowser(); err != nil {
		return err
	}
	slow, err := b.store.BuildSlowModule(b.dir, cardDelay)
	if err != nil {
		return err
	}
	agent, url, err := b.startAgent("slow", slow.Path, slow.Env(), "")
	if err != nil {
		return err
	}
	defer func() {
		agent.Process.Signal(os.Interrupt)
		agent.Wait()
	}()
	b.tsa.SetDelay(tsaLatency)
	defer b.tsa.SetDelay(0)

	letter := letterPDF(1 << 20)
	var mu sync.Mutex
	kept := map[string][]byte{}
	stop, err := b.servePage("t", func(mux *http.ServeMux) {
		mux.HandleFunc("GET /letter.pdf", func(w http.ResponseWriter, _ *http.Request) { w.Write(letter) })
		mux.HandleFunc("POST /keep/{i}", func(w http.ResponseWriter, r *http.Request) {
			data, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			mu.Lock()
			kept[r.PathValue("i")] = data
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		})
	})
	if err != nil {
		return err
	}
	defer stop()
	out, err := b.chromium("t", url, 1, n)
	if err != nil {
		return err
	}
	var t tokenBoundTimes
	if err := json.Unmarshal(out, &t); err != nil || t.Total == 0 {
		return fmt.Errorf("chromium printed %q: %v", out, err)
	}
	if len(t.Levels) != 1 || t.Levels[0] != "B-LT" {
		return fmt.Errorf("the batch was signed at %v, not B-LT", t.Levels)
	}
	// The first and last signed PDFs, as the page has them, verify
	// offline as B-LT.
	anchors, err := trust.Load([]string{b.pki.RootFile, b.tsa.CAFile})
	if err != nil {
		return err
	}
	for _, i := range []string{"0", fmt.Sprint(n - 1)} {
		signed := kept[i]
		rep := pdfverify.PDF(context.Background(), "signed.pdf", bytes.NewReader(signed), int64(len(signed)), pdfverify.Options{Trust: trust.NewStore(anchors, nil, nil)})
		if !rep.Valid || len(rep.Signatures) == 0 || rep.Signatures[0].Level != "B-LT" {
			p := filepath.Join(b.dir, "tokenbound-failed.pdf")
			os.WriteFile(p, signed, 0o600)
			return fmt.Errorf("signed PDF %s from the page is not a valid B-LT signature (kept as %s)", i, p)
		}
	}
	ms := func(v float64) time.Duration {
		return time.Duration(v * float64(time.Millisecond)).Round(time.Millisecond)
	}
	tokenTime := time.Duration(n) * cardDelay
	dialog := ms(t.Signing - t.Dialog)
	total := ms(t.Total)
	bound := time.Duration(float64(tokenTime)*1.05) + dialog
	r.add(section{
		title: fmt.Sprintf("(t) Chromium, the project's JS client: %d PDFs of 1 MiB at B-LT, the token %v a signature, the TSA %v away", n, cardDelay, tsaLatency),
		rows: [][2]string{
			{"the token's own time (n × its signing time)", fmt.Sprintf("%v", tokenTime)},
			{"click to the dialog (progress awaiting_user)", fmt.Sprintf("%v", ms(t.Dialog))},
			{"the dialog (an instantly answering pinentry)", fmt.Sprintf("%v", dialog)},
			{"consent to the last signature", fmt.Sprintf("%v = %.3f × the token's time", ms(t.LastSigned-t.Signing), (t.LastSigned-t.Signing)/float64(tokenTime.Milliseconds()))},
			{"last signature to every signed PDF in the page (time-stamp, DSS of the last)", fmt.Sprintf("%v", ms(t.Total-t.LastSigned))},
			{"click to every signed PDF in the page", fmt.Sprintf("%v = %.3f × the token's time (target ≤ 1.05 × + the dialog = %v)", total, float64(total)/float64(tokenTime), bound.Round(time.Millisecond))},
		},
		pass: total <= bound,
		note: "One run: the slow token (a PKCS#11 pass-through over SoftHSM that holds one lock and waits in every C_Sign, token/softhsm/slowsign) signs one item at a time. The client declares the batch and sends sign.pdf at once, the bytes follow over HTTP; the agent parses each PDF as it arrives, time-stamps each signature, adds the TSA's validation data and the DSS while the token signs the next. The first and last signed PDF, as the page holds them, verify offline as B-LT.",
	})
	return nil
}

// needBrowser checks what the Chromium scenarios need.
func needBrowser() error {
	for _, tool := range []string{"node", "/usr/bin/chromium"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the Chromium scenarios need %s: run scripts/install-deps.sh test", tool)
		}
	}
	if _, err := os.Stat("web/node_modules/playwright-core"); err != nil {
		return fmt.Errorf("the Chromium scenarios need playwright-core: run scripts/install-deps.sh test (npm ci in web/)")
	}
	return nil
}
