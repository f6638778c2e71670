package agent_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/tsa/tsatest"
)

// signingProgress reads a request's messages until its answer, calling
// signing with the done count of every signing progress notification.
func signingProgress(t *testing.T, c *client, id string, signing func(done int)) rpcResponse {
	t.Helper()
	for {
		r := c.read()
		if r.Method == "progress" {
			var p protocol.Progress
			if err := json.Unmarshal(r.Params, &p); err != nil {
				t.Fatal(err)
			}
			if p.Stage == protocol.StageSigning {
				signing(p.Done)
			}
			continue
		}
		if r.Method == "" && strings.Trim(string(r.ID), `"`) == id {
			return r
		}
	}
}

// TestTimestampsFollowTheToken: at B-T each signature is time-stamped
// while the token signs the next, not after the batch — on a token at a
// smartcard's pace the TSA has been asked before the token is done — and a
// TSA that fails stops the token before the rest of the batch.
func TestTimestampsFollowTheToken(t *testing.T) {
	const n = 12
	tsaSrv := tsatest.Start(t)
	h := newHarness(t, harnessOpts{tsaURL: tsaSrv.URL, slowSign: testscale.D(100 * time.Millisecond)})
	c := h.dial(testOrigin)
	params := bigDigestParams(h, rsaID, n)
	params["level"] = "B-T"
	// The agent anchors its audit trail with the TSA when it starts; the
	// batch's requests are counted after that one.
	for deadline := time.Now().Add(testscale.D(10 * time.Second)); tsaSrv.Count() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the agent did not anchor its audit trail with the TSA at start")
		}
	}
	before := tsaSrv.Count()
	if err := c.ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": "batch", "method": "sign.cms", "params": params}); err != nil {
		t.Fatal(err)
	}
	stampedBeforeLast := -1
	r := signingProgress(t, c, "batch", func(done int) {
		// The last signature is at least one token delay away: without
		// the follower nothing has been stamped yet.
		if done >= n-2 && done < n && stampedBeforeLast < 0 {
			stampedBeforeLast = tsaSrv.Count() - before
		}
	})
	if r.Error != nil {
		t.Fatalf("sign.cms B-T: %v", r.Error)
	}
	var res protocol.SignCMSResult
	if err := json.Unmarshal(r.Result, &res); err != nil {
		t.Fatal(err)
	}
	for i, it := range res.Items {
		if it.Level != protocol.LevelBT {
			t.Errorf("item %d: level %s, want B-T", i, it.Level)
		}
	}
	if stampedBeforeLast < 1 {
		t.Errorf("when the token had one or two signatures left the TSA had been asked %d times; each signature should be stamped as soon as it is made", stampedBeforeLast)
	}
	if got := tsaSrv.Count() - before; got != n {
		t.Errorf("the TSA was asked %d times for %d signatures", got, n)
	}

	// A refusing TSA: the request fails and the token stops early.
	tsaSrv.SetFault(tsatest.Refuse)
	if err := c.ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": "refused", "method": "sign.cms", "params": params}); err != nil {
		t.Fatal(err)
	}
	signed := 0
	r = signingProgress(t, c, "refused", func(done int) { signed = max(signed, done) })
	wantError(t, r.Error, protocol.ReasonUpstreamFailed)
	if signed >= n {
		t.Errorf("the token made all %d signatures although the TSA refused the first", n)
	}
}
