package agent_test

import (
	"crypto"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/tte-agent/tte-agent/protocol"
)

func bigDigestParams(h *harness, keyID []byte, n int) map[string]any {
	items := make([]any, n)
	for i := range items {
		d := sha256.Sum256([]byte(fmt.Sprint("surat ", i)))
		items[i] = map[string]any{"name": fmt.Sprintf("surat-%04d", i), "digest": d[:]}
	}
	return map[string]any{"certificateId": h.certID(keyID), "items": items}
}

// TestBatchProgressAndResults: one dialog and one login for 1,000 items,
// signing progress that counts up to the total, and every result in
// request order.
func TestBatchProgressAndResults(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	params := bigDigestParams(h, rsaID, 1000)
	res := mustCall[protocol.SignDigestResult](c, "sign.digest", params)
	if len(res.Items) != 1000 {
		t.Fatalf("%d results, want 1000", len(res.Items))
	}
	for i, it := range res.Items {
		d := sha256.Sum256([]byte(fmt.Sprint("surat ", i)))
		if it.Name != fmt.Sprintf("surat-%04d", i) || goVerify(h.certs[0], crypto.SHA256, false, d[:], it.Signature) != nil {
			t.Fatalf("result %d (%s) is not the signature of item %d", i, it.Name, i)
		}
	}
	last := -1
	for _, n := range c.notes {
		var p protocol.Progress
		remarshal(t, n.Params, &p)
		if p.Stage == protocol.StageSigning {
			if p.Done < last {
				t.Errorf("progress went back from %d to %d", last, p.Done)
			}
			last = p.Done
		}
	}
	if last != 1000 {
		t.Errorf("last signing progress %d, want 1000", last)
	}
	if n := len(h.fake.Shown(t)); n != 1 {
		t.Errorf("%d dialogs for one batch", n)
	}
	if d := h.fake.Shown(t)[0].Desc; !strings.Contains(d, "dan 990 lainnya") {
		t.Errorf("dialog does not count the rest:\n%s", d)
	}
}

// TestCancelDuringSigning: request.cancel stops a batch within one item
// per session and answers cancelled with the items finished.
func TestCancelDuringSigning(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	if err := c.ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": "batch", "method": "sign.digest", "params": bigDigestParams(h, rsaID, 1000)}); err != nil {
		t.Fatal(err)
	}
	for {
		r := c.read()
		if r.Method == "progress" && strings.Contains(string(r.Params), `"stage":"signing"`) {
			break
		}
		if r.Method == "" {
			t.Fatalf("the batch ended before it could be cancelled: %s", r.Result)
		}
	}
	if err := c.ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": "stop", "method": "request.cancel", "params": map[string]any{"id": "batch"}}); err != nil {
		t.Fatal(err)
	}
	var batch *protocol.Error
	for got := 0; got < 2; {
		r := c.read()
		if r.Method != "" {
			continue
		}
		got++
		if string(r.ID) == `"batch"` {
			batch = r.Error
		}
	}
	wantError(t, batch, protocol.ReasonCancelled)
	if batch.Data.Completed == nil || *batch.Data.Completed >= 1000 {
		t.Fatalf("completed = %v, want fewer than 1000", batch.Data.Completed)
	}
	// The agent is free again: a new request signs.
	mustCall[protocol.SignDigestResult](c, "sign.digest", bigDigestParams(h, p256ID, 3))
}
