// Command tte-bench measures tte-agent on a SoftHSM token and writes
// docs/performance.md: digests through the agent against crypto11 called
// directly, one-item latency, a 1 GiB document against sha256sum, and a
// batch of 1 MiB PDFs, at B-B and at B-LT against a distant TSA. `make bench` runs it; the agent runs as its own
// process, as it does for users.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"
)

func main() {
	agentBin := flag.String("agent", "bin/tte-agent", "the tte-agent binary to measure")
	runs := flag.Int("runs", 5, "runs per measurement (the median is reported)")
	out := flag.String("out", "docs/performance.md", "report to write")
	only := flag.String("only", "a,b,c,d,l,m,v,w,t,p", "scenarios to run (l: B-LT with a distant TSA; m: memory with a 1,000-PDF batch; v: the same with visible signatures; w: Chromium with the JS client; t: Chromium, B-LT, a token at a smartcard's pace; p: a 256 MiB document encrypted and opened)")
	docSize := flag.Int64("doc-size", 1<<30, "size of the document for scenario b")
	pdfs := flag.Int("pdfs", 200, "number of PDFs for scenario c")
	cpuprofile := flag.String("cpuprofile", "", "have the agent write a CPU profile to this file")
	flag.Parse()
	if *runs < 1 {
		log.Fatal("-runs must be at least 1")
	}

	b, err := setup(*agentBin, *cpuprofile)
	if err != nil {
		log.Fatal(err)
	}
	defer b.close()
	r := &report{runs: *runs, started: time.Now()}
	want := func(s string) bool { return strings.Contains(*only, s) }
	if want("a") {
		must(b.scenarioDigests(r, *runs))
	}
	if want("d") {
		must(b.scenarioLatency(r))
	}
	if want("b") {
		must(b.scenarioDocument(r, *runs, *docSize))
	}
	if want("c") {
		must(b.scenarioPDFs(r, *runs, *pdfs))
	}
	if want("w") {
		must(b.scenarioBrowser(r, *runs, 256<<20, *pdfs))
	}
	if want("t") {
		must(b.scenarioTokenBound(r, *pdfs))
	}
	if want("p") {
		must(b.scenarioProtect(r, min(*runs, 3), 256<<20))
	}
	if want("m") {
		must(b.scenarioBatchMemory(r, 1000, false, false))
		must(b.scenarioBatchMemory(r, 1000, false, true))
	}
	if want("v") {
		must(b.scenarioBatchMemory(r, 1000, true, false))
	}
	// (l) runs last: its seven B-LT batches leave the agent's heap larger
	// for a while, which (m)'s peak-RSS bound would count.
	if want("l") {
		must(b.scenarioLongTerm(r, *runs, *pdfs))
	}
	text := r.markdown()
	fmt.Print(text)
	if *out != "" {
		if err := r.write(*out, text); err != nil {
			log.Fatal(err)
		}
	}
	if r.failed {
		b.close() // os.Exit skips deferred calls
		os.Exit(1)
	}
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
