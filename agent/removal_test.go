package agent_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

// TestTokenPulledMidBatch: the token goes away (its p11-kit server is
// killed) during a batch: token_removed with data.completed; once it is
// back the agent serves again, with a new consent, without a restart.
func TestTokenPulledMidBatch(t *testing.T) {
	h := newHarness(t, harnessOpts{p11kit: true})
	c := h.dial(testOrigin)
	if toks := mustCall[protocol.TokensList](c, "tokens.list", nil).Tokens; len(toks) != 1 {
		t.Fatalf("tokens through p11-kit: %+v", toks)
	}
	if err := c.ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": "batch", "method": "sign.digest", "params": bigDigestParams(h, rsaID, 1000)}); err != nil {
		t.Fatal(err)
	}
	for {
		r := c.read()
		if r.Method == "progress" && strings.Contains(string(r.Params), `"stage":"signing"`) {
			break
		}
		if r.Method == "" {
			t.Fatalf("the batch ended before the token was pulled: %s", r.Result)
		}
	}
	h.stopP11Kit()
	_, perr := c.await(`"batch"`)
	wantError(t, perr, protocol.ReasonTokenRemoved)
	if perr.Data.Completed == nil || *perr.Data.Completed >= 1000 {
		t.Errorf("completed = %v, want fewer than 1000", perr.Data.Completed)
	}
	// Back in: the agent finds it again and signs after a new dialog.
	h.startP11Kit()
	deadline := time.Now().Add(testscale.D(10 * time.Second))
	for {
		toks := mustCall[protocol.TokensList](c, "tokens.list", nil).Tokens
		if len(toks) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the token did not come back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	mustCall[protocol.SignDigestResult](c, "sign.digest", bigDigestParams(h, rsaID, 3))
	if n := len(h.fake.Shown(t)); n != 2 {
		t.Errorf("%d dialogs, want a new one after re-insertion", n)
	}
}
