package agent_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
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
