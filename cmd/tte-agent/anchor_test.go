package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/tsa/tsatest"
)

// TestReportAnchorsTheTrail: with a TSA configured the agent anchors its
// trail at start and `audit report` anchors the head it reports on; a
// tail deleted afterwards is then named by `audit verify`.
func TestReportAnchorsTheTrail(t *testing.T) {
	ts := tsatest.Start(t)
	addr := freePort(t)
	cfg, _ := setup(t, addr)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "[tsa]\nurl = %q\n", ts.URL)
	f.Close()
	cmd := exec.Command(os.Args[0], "run", "--config", cfg, "--policy", "")
	cmd.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1")
	startAgent(t, cmd, addr)
	trail := filepath.Join(filepath.Dir(cfg), "audit.log")
	for deadline := time.Now().Add(testscale.D(10 * time.Second)); ; time.Sleep(20 * time.Millisecond) {
		if data, _ := os.ReadFile(audit.AnchorsPath(trail)); len(data) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent did not anchor its trail at start")
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	before := ts.Count()
	today := time.Now().Format("2006-01-02")
	var out, errb bytes.Buffer
	if code := run([]string{"audit", "report", "--from", today, "--to", today, "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("report: %d %s", code, errb.String())
	}
	if ts.Count() != before+1 {
		t.Errorf("the report did not anchor the trail (TSA asked %d times, then %d)", before, ts.Count())
	}
	anchors, _ := os.ReadFile(audit.AnchorsPath(trail))
	if n := strings.Count(string(anchors), "\n"); n != 2 {
		t.Errorf("%d anchors, want 2 (start, report)", n)
	}
	// The report anchored agent_stopped; deleting it is caught.
	data, _ := os.ReadFile(trail)
	lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	os.WriteFile(trail, []byte(strings.Join(lines[:len(lines)-1], "")), 0o600)
	out.Reset()
	errb.Reset()
	if code := run([]string{"audit", "verify", "--config", cfg}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "deleted from the end") {
		t.Errorf("verify after the last record was deleted: %d %s%s", code, out.String(), errb.String())
	}
}
