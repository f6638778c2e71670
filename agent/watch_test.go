package agent_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/protocol"
)

// TestTokensChanged: a SoftHSM token initialised by another program while
// the agent runs, and then deleted, reaches every connected page as a
// tokens.changed notification, and tokens.list agrees.
func TestTokensChanged(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	a, b := h.dial(testOrigin), h.dial(docsOrigin)
	before := mustCall[protocol.TokensList](a, "tokens.list", nil)

	start := time.Now()
	out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", "Kartu Baru", "--pin", "4321", "--so-pin", "87654321").CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	for _, c := range []*client{a, b} {
		toks := waitTokensChanged(t, c)
		if len(toks) != len(before.Tokens)+1 || !slices.ContainsFunc(toks, func(x protocol.Token) bool { return x.Label == "Kartu Baru" && x.PINStatus == "ok" }) {
			t.Fatalf("tokens.changed after an insertion: %+v", toks)
		}
	}
	t.Logf("insertion seen after %v", time.Since(start).Round(10*time.Millisecond))
	if now := mustCall[protocol.TokensList](b, "tokens.list", nil); len(now.Tokens) != len(before.Tokens)+1 {
		t.Errorf("tokens.list after the insertion: %+v", now)
	}

	out, err = exec.Command("softhsm2-util", "--delete-token", "--token", "Kartu Baru").CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --delete-token: %v\n%s", err, out)
	}
	if toks := waitTokensChanged(t, a); len(toks) != len(before.Tokens) || slices.ContainsFunc(toks, func(x protocol.Token) bool { return x.Label == "Kartu Baru" }) {
		t.Errorf("tokens.changed after a removal: %+v", toks)
	}
	// The original token still signs.
	res := mustCall[protocol.SignDigestResult](a, "sign.digest", digestParams(h, rsaID, "surat.pdf"))
	if len(res.Items) != 1 {
		t.Errorf("sign.digest after the changes: %+v", res)
	}
}

// waitTokensChanged reads until a tokens.changed notification and returns
// its tokens.
func waitTokensChanged(t *testing.T, c *client) []protocol.Token {
	t.Helper()
	for {
		n := c.read()
		if n.Method != protocol.NotifyTokensChanged {
			continue
		}
		var l protocol.TokensList
		if err := json.Unmarshal(n.Params, &l); err != nil {
			t.Fatal(err)
		}
		return l.Tokens
	}
}
