package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

func auditRecords(t *testing.T, h *harness) []audit.Record {
	t.Helper()
	data, err := os.ReadFile(h.auditPath())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(testPIN)) {
		t.Fatal("the audit trail contains the PIN")
	}
	var out []audit.Record
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r audit.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestAuditTrail: refusals, dialogs, decisions and results are recorded
// with origin, method, certificate fingerprint, names and digests, in an
// intact 0600 chain that never holds the PIN.
func TestAuditTrail(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	mustCall[protocol.SignDigestResult](c, "sign.digest", digestParams(h, rsaID, "surat-001"))
	h.fake.Set(t, pinentrytest.Behaviour{Action: "cancel"})
	c.call("sign.digest", digestParams(h, rsaID, "surat-002"))
	c.call("sign.digest", digestParams(h, expiredID, "surat-003"))
	h.handshake("127.0.0.1:1", []string{"https://evil.example"}, "/v1")

	recs := auditRecords(t, h)
	var events []string
	for _, r := range recs {
		events = append(events, r.Event+":"+r.Outcome)
	}
	want := []string{"agent_started:", "dialog_shown:", "decision:consented", "result:ok",
		"dialog_shown:", "decision:user_cancelled", "result:user_cancelled",
		"refused:certificate_invalid", "refused:forbidden"}
	if strings.Join(events, " ") != strings.Join(want, " ") {
		t.Fatalf("events\n got %v\nwant %v", events, want)
	}
	ok := recs[3]
	if ok.Origin != testOrigin || ok.Method != "sign.digest" || len(ok.Certificate) != 64 || ok.Subject != "Budi Santoso" ||
		len(ok.Items) != 1 || ok.Items[0].Name != "surat-001" || len(ok.Items[0].Digest) != 64 || ok.Count != 1 {
		t.Errorf("result record = %+v", ok)
	}
	if fi, err := os.Stat(h.auditPath()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode %v, %v", fi.Mode().Perm(), err)
	}
	if n, err := audit.Verify(h.auditPath()); err != nil || n != len(recs) {
		t.Errorf("Verify = %d, %v", n, err)
	}
}

// TestRefusalsAggregated: a flood of refused handshakes with huge,
// attacker-chosen Origin headers, and from hundreds of origins, leaves a
// few small records with counts, not one record each.
func TestRefusalsAggregated(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	before, _ := os.Stat(h.auditPath())
	huge := "https://evil.example/" + strings.Repeat("a", 15000)
	for range 300 {
		h.handshake("", []string{huge}, "/v1")
	}
	for i := range 200 {
		h.handshake(fmt.Sprintf("host-%d.example", i), []string{fmt.Sprintf("https://e%d.example", i)}, "/v1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), testscale.D(5*time.Second))
	defer cancel()
	h.d.Close(ctx) // writes the counts held for the interval
	after, _ := os.Stat(h.auditPath())
	grown := after.Size() - before.Size()
	t.Logf("500 refusals grew the trail by %d bytes", grown)
	if grown > 64<<10 {
		t.Errorf("500 refusals grew the trail by %d bytes", grown)
	}
	total := 0
	for _, r := range auditRecords(t, h) {
		if r.Event != audit.EventRefused {
			continue
		}
		total += r.Count
		if len(r.Origin) > 140 || len(r.Detail) > 600 {
			t.Errorf("an attacker-chosen string was kept whole: %d, %d bytes", len(r.Origin), len(r.Detail))
		}
	}
	if total != 500 {
		t.Errorf("the records count %d refusals, want 500", total)
	}
	if n, err := audit.Verify(h.auditPath()); err != nil {
		t.Errorf("Verify = %d, %v", n, err)
	}
}

// TestAuditRequired: with audit.required (the default) a sign request
// whose record cannot be written fails before any dialog; with it off the
// request goes on.
func TestAuditRequired(t *testing.T) {
	t.Run("required", func(t *testing.T) {
		h := newHarness(t, harnessOpts{})
		c := h.dial(testOrigin)
		h.d.BreakAudit()
		_, perr := c.call("sign.digest", digestParams(h, rsaID, "surat"))
		wantError(t, perr, protocol.ReasonInternal)
		if !strings.Contains(perr.Message, "audit trail") {
			t.Errorf("message %q does not say why", perr.Message)
		}
		if n := len(h.fake.Shown(t)); n != 0 {
			t.Errorf("%d dialogs shown with no audit trail", n)
		}
	})
	t.Run("not required", func(t *testing.T) {
		h := newHarness(t, harnessOpts{audit: "required = false"})
		c := h.dial(testOrigin)
		h.d.BreakAudit()
		mustCall[protocol.SignDigestResult](c, "sign.digest", digestParams(h, rsaID, "surat"))
	})
}
