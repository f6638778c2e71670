package agent_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
	"github.com/tte-agent/tte-agent/protocol"
)

// TestBatchOverTheLimit: too_large before any dialog.
func TestBatchOverTheLimit(t *testing.T) {
	h := newHarness(t, harnessOpts{limits: "items = 10"})
	c := h.dial(testOrigin)
	_, perr := c.call("sign.digest", bigDigestParams(h, p256ID, 11))
	wantError(t, perr, protocol.ReasonTooLarge)
	if n := len(h.fake.Shown(t)); n != 0 {
		t.Errorf("%d dialogs for a batch over the limit", n)
	}
	mustCall[protocol.SignDigestResult](c, "sign.digest", bigDigestParams(h, p256ID, 10))
}

// TestTwoOriginsAtOnce: two pages sign with the same token at the same
// time; each gets its own dialog and its own login, and the logins never
// overlap (pkcs11-spy records the order of C_Login and C_Logout).
func TestTwoOriginsAtOnce(t *testing.T) {
	h := newHarness(t, harnessOpts{spy: true})
	h.fake.Set(t, pinentrytest.Behaviour{Action: "pin", PIN: testPIN, Delay: 200 * time.Millisecond})
	a, b := h.dial(testOrigin), h.dial(otherOrigin)
	var wg sync.WaitGroup
	errs := make([]*protocol.Error, 2)
	for i, c := range []*client{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.call("sign.digest", bigDigestParams(h, rsaID, 200))
		}()
	}
	wg.Wait()
	for i, e := range errs {
		if e != nil {
			t.Errorf("request %d: %v", i, e)
		}
	}
	shown := h.fake.Shown(t)
	if len(shown) != 2 {
		t.Fatalf("%d dialogs for two requests, want one each", len(shown))
	}
	both := shown[0].Desc + shown[1].Desc
	if !strings.Contains(both, testOrigin) || !strings.Contains(both, otherOrigin) || strings.Contains(shown[0].Desc, testOrigin) == strings.Contains(shown[1].Desc, testOrigin) {
		t.Errorf("each dialog must name its own origin:\n%s\n---\n%s", shown[0].Desc, shown[1].Desc)
	}
	// Logins and logouts alternate: the second request never signs
	// inside the first's login.
	var seq []string
	for _, line := range spyLines(t, h) {
		for _, fn := range []string{"C_Login", "C_Logout"} {
			if strings.HasSuffix(strings.TrimSpace(line), " "+fn) {
				seq = append(seq, fn)
			}
		}
	}
	if strings.Join(seq, ",") != "C_Login,C_Logout,C_Login,C_Logout" {
		t.Errorf("login order = %v, want each login closed before the next", seq)
	}
}
