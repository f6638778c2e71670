package agent_test

import (
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
	"github.com/tte-agent/tte-agent/protocol"
)

// TestHotplugP11Kit: the token behind `p11-kit server` goes away and comes
// back; each reaches the connected page as tokens.changed, without a
// request from the page.
func TestHotplugP11Kit(t *testing.T) {
	h := newHarness(t, harnessOpts{p11kit: true})
	c := h.dial(testOrigin)
	if toks := mustCall[protocol.TokensList](c, "tokens.list", nil).Tokens; len(toks) != 1 {
		t.Fatalf("tokens through p11-kit: %+v", toks)
	}
	start := time.Now()
	h.stopP11Kit()
	if toks := waitTokensChanged(t, c); len(toks) != 0 {
		t.Fatalf("tokens.changed after the server stopped: %+v", toks)
	}
	t.Logf("removal seen after %v", time.Since(start).Round(10*time.Millisecond))
	start = time.Now()
	h.startP11Kit()
	toks := waitTokensChanged(t, c)
	if len(toks) != 1 || toks[0].Serial != h.serial {
		t.Fatalf("tokens.changed after the server came back: %+v", toks)
	}
	t.Logf("insertion seen after %v", time.Since(start).Round(10*time.Millisecond))
	// And it signs again (a new dialog, a new login).
	res := mustCall[protocol.SignDigestResult](c, "sign.digest", digestParams(h, rsaID, "surat.pdf"))
	if len(res.Items) != 1 {
		t.Errorf("sign.digest after re-insertion: %+v", res)
	}
}

// TestPINStatusChange: a wrong PIN makes SoftHSM raise count_low, and the
// right one clears it; the slot watcher pushes both to every page.
func TestPINStatusChange(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	watcher := h.dial(docsOrigin)
	mustCall[protocol.TokensList](watcher, "tokens.list", nil)
	c := h.dial(testOrigin)
	h.fake.Set(t, pinentrytest.Behaviour{Action: "pin", PIN: "99999999"})
	_, perr := c.call("sign.digest", digestParams(h, rsaID, "a.pdf"))
	wantError(t, perr, protocol.ReasonPINIncorrect)
	if toks := waitTokensChanged(t, watcher); len(toks) != 1 || toks[0].PINStatus != "count_low" {
		t.Fatalf("tokens.changed after a wrong PIN: %+v", toks)
	}
	h.fake.Set(t, pinentrytest.Behaviour{Action: "pin", PIN: testPIN})
	mustCall[protocol.SignDigestResult](c, "sign.digest", digestParams(h, rsaID, "a.pdf"))
	if toks := waitTokensChanged(t, watcher); len(toks) != 1 || toks[0].PINStatus != "ok" {
		t.Fatalf("tokens.changed after the right PIN: %+v", toks)
	}
}
