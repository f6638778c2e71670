package agent_test

import (
	"crypto"
	"crypto/sha256"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

func digestParams(h *harness, keyID []byte, names ...string) map[string]any {
	items := []any{}
	for _, n := range names {
		d := sha256.Sum256([]byte(n))
		items = append(items, map[string]any{"name": n, "digest": d[:]})
	}
	return map[string]any{"certificateId": h.certID(keyID), "items": items}
}

// spyLines returns pkcs11-spy's log, a line a string.
func spyLines(t *testing.T, h *harness) []string {
	t.Helper()
	data, err := os.ReadFile(h.spyLog)
	if err != nil {
		t.Fatalf("reading the pkcs11-spy log: %v", err)
	}
	return strings.Split(string(data), "\n")
}

// spyCalls counts PKCS#11 calls named fn in pkcs11-spy's log.
func spyCalls(t *testing.T, h *harness, fn string) int {
	t.Helper()
	n := 0
	for _, line := range spyLines(t, h) {
		if strings.HasSuffix(strings.TrimSpace(line), " "+fn) || strings.Contains(line, " "+fn+"\r") {
			n++
		}
	}
	return n
}

// TestCancelledDialogNeverLogsIn: Cancel answers user_cancelled and the
// token never sees C_Login, as pkcs11-spy in front of SoftHSM records.
func TestCancelledDialogNeverLogsIn(t *testing.T) {
	h := newHarness(t, harnessOpts{spy: true})
	c := h.dial(testOrigin)
	h.fake.Set(t, pinentrytest.Behaviour{Action: "cancel"})
	_, perr := c.call("sign.digest", digestParams(h, rsaID, "surat-1"))
	wantError(t, perr, protocol.ReasonUserCancelled)
	if n := spyCalls(t, h, "C_Login"); n != 0 {
		t.Errorf("C_Login called %d times after a cancelled dialog", n)
	}
	// The spy does see logins, or the check above proves nothing.
	h.fake.Set(t, pinentrytest.Behaviour{Action: "pin", PIN: testPIN})
	mustCall[protocol.SignDigestResult](c, "sign.digest", digestParams(h, rsaID, "surat-1"))
	if n, m := spyCalls(t, h, "C_Login"), spyCalls(t, h, "C_Logout"); n != 1 || m != 1 {
		t.Errorf("after one signed request: %d C_Login and %d C_Logout, want 1 and 1", n, m)
	}
}

// A dialog that cannot be shown (pinentry-curses in a terminal too small
// for it) is dialog_unavailable, never logs in, and says what to do.
func TestDialogUnavailable(t *testing.T) {
	h := newHarness(t, harnessOpts{spy: true})
	c := h.dial(testOrigin)
	h.fake.Set(t, pinentrytest.Behaviour{Action: "too_small"})
	_, perr := c.call("sign.digest", digestParams(h, rsaID, "surat-1"))
	wantError(t, perr, protocol.ReasonDialogUnavailable)
	if perr.Code != -32013 || !strings.Contains(perr.Message, "enlarge the terminal") || !strings.Contains(perr.Data.Detail, "too small") {
		t.Errorf("error %+v", perr)
	}
	if n := spyCalls(t, h, "C_Login"); n != 0 {
		t.Errorf("C_Login called %d times without a dialog", n)
	}
}

// TestWrongPIN: pin_incorrect carries the token's new PIN status, the
// agent asks once and does not retry, and the next request works.
func TestWrongPIN(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	h.fake.Set(t, pinentrytest.Behaviour{Action: "pin", PIN: "000000"})
	_, perr := c.call("sign.digest", digestParams(h, p256ID, "a", "b"))
	wantError(t, perr, protocol.ReasonPINIncorrect)
	// SoftHSM raises CKF_USER_PIN_COUNT_LOW after a failed login.
	if perr.Data.PINStatus != "count_low" {
		t.Errorf("pinStatus = %q, want count_low", perr.Data.PINStatus)
	}
	if n := len(h.fake.Shown(t)); n != 1 {
		t.Errorf("%d dialogs for one request, want 1 (no retry)", n)
	}
	toks := mustCall[protocol.TokensList](c, "tokens.list", nil)
	if toks.Tokens[0].PINStatus != "count_low" {
		t.Errorf("tokens.list pinStatus = %q", toks.Tokens[0].PINStatus)
	}
	// The next dialog warns about the tries left.
	h.fake.Set(t, pinentrytest.Behaviour{Action: "pin", PIN: testPIN})
	mustCall[protocol.SignDigestResult](c, "sign.digest", digestParams(h, p256ID, "a"))
	shown := h.fake.Shown(t)
	if len(shown) != 2 || !strings.Contains(shown[1].Error, "sisa percobaan PIN") {
		t.Errorf("second dialog error line = %q", shown[len(shown)-1].Error)
	}
}

func TestDialogTimeout(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	h.fake.Set(t, pinentrytest.Behaviour{Action: "hang"})
	start := time.Now()
	_, perr := c.call("sign.digest", digestParams(h, rsaID, "a"))
	wantError(t, perr, protocol.ReasonTimeout)
	if d := time.Since(start); d > testscale.D(10*time.Second) {
		t.Errorf("timeout took %v with a %s limit", d, testTimeout)
	}
	// The pinentry's own timeout answer maps the same way.
	h.fake.Set(t, pinentrytest.Behaviour{Action: "timeout"})
	_, perr = c.call("sign.digest", digestParams(h, rsaID, "a"))
	wantError(t, perr, protocol.ReasonTimeout)
}

// TestRequestCancelDuringDialog: request.cancel answers {} and the request
// answers cancelled with data.completed = 0.
func TestRequestCancelDuringDialog(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	h.fake.Set(t, pinentrytest.Behaviour{Action: "hang"})
	if err := c.ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": "sign-1", "method": "sign.digest", "params": digestParams(h, rsaID, "a")}); err != nil {
		t.Fatal(err)
	}
	for { // wait until the dialog is up
		if r := c.read(); r.Method == "progress" && strings.Contains(string(r.Params), "awaiting_user") {
			break
		}
	}
	if err := c.ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": "cancel-1", "method": "request.cancel", "params": map[string]any{"id": "sign-1"}}); err != nil {
		t.Fatal(err)
	}
	// The two answers may cross: read both, in either order.
	got := map[string]rpcResponse{}
	for len(got) < 2 {
		if r := c.read(); r.Method == "" {
			got[string(r.ID)] = r
		}
	}
	if r := got[`"cancel-1"`]; r.Error != nil || string(r.Result) != "{}" {
		t.Fatalf("request.cancel = %s, %v", r.Result, r.Error)
	}
	perr := got[`"sign-1"`].Error
	wantError(t, perr, protocol.ReasonCancelled)
	if perr.Data.Completed == nil || *perr.Data.Completed != 0 {
		t.Errorf("completed = %v, want 0", perr.Data.Completed)
	}
	// A cancel without an id is a bad request.
	_, perr = c.call("request.cancel", map[string]any{})
	wantError(t, perr, protocol.ReasonBadRequest)
}

// TestAlwaysAuthenticate: a CKA_ALWAYS_AUTHENTICATE key signs every item
// after one dialog: the agent holds the PIN for the request only.
func TestAlwaysAuthenticate(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	res := mustCall[protocol.SignDigestResult](c, "sign.digest", digestParams(h, alwaysID, "a", "b", "c"))
	if len(res.Items) != 3 {
		t.Fatalf("%d signatures, want 3", len(res.Items))
	}
	for i, it := range res.Items {
		d := sha256.Sum256([]byte(it.Name))
		if err := goVerify(h.certs[3], crypto.SHA256, false, d[:], it.Signature); err != nil {
			t.Errorf("item %d: %v", i, err)
		}
	}
	if n := len(h.fake.Shown(t)); n != 1 {
		t.Errorf("%d dialogs, want 1", n)
	}
}
