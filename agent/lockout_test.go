package agent_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
	"github.com/tte-agent/tte-agent/protocol"
)

// TestPINLockout runs against openCryptoki's software token, which counts
// wrong PINs: each wrong PIN is tried once; the token's status comes back
// in pin_incorrect; the next dialog warns (few tries left, then the last
// try); a locked PIN answers pin_locked with no dialog and no login.
//
// openCryptoki 3.8 crashes in C_Initialize in a process that loaded and
// unloaded SoftHSM before, as the other tests of this binary do, so the
// test runs itself in a fresh process.
func TestPINLockout(t *testing.T) {
	if inFreshProcess(t) {
		return
	}
	h := newHarness(t, harnessOpts{openCryptoki: true})
	c := h.dial(testOrigin)
	h.fake.Set(t, pinentrytest.Behaviour{Action: "pin", PIN: "99999999"})
	want := []string{"count_low", "final_try", "locked"}
	warnings := []string{"", "sisa percobaan PIN", "TERAKHIR"}
	for i, status := range want {
		_, perr := c.call("sign.digest", digestParams(h, rsaID, "surat"))
		wantError(t, perr, protocol.ReasonPINIncorrect)
		if perr.Data.PINStatus != status {
			t.Errorf("wrong PIN %d: pinStatus %q, want %q", i+1, perr.Data.PINStatus, status)
		}
		shown := h.fake.Shown(t)
		if len(shown) != i+1 {
			t.Fatalf("%d dialogs after %d requests: the agent retried", len(shown), i+1)
		}
		if got := shown[i].Error; (warnings[i] == "") != (got == "") || !strings.Contains(got, warnings[i]) {
			t.Errorf("dialog %d warning %q, want %q", i+1, got, warnings[i])
		}
	}
	if toks := mustCall[protocol.TokensList](c, "tokens.list", nil).Tokens; toks[0].PINStatus != "locked" {
		t.Errorf("tokens.list pinStatus %q", toks[0].PINStatus)
	}
	h.fake.Set(t, pinentrytest.Behaviour{Action: "pin", PIN: testPIN})
	_, perr := c.call("sign.digest", digestParams(h, rsaID, "surat"))
	wantError(t, perr, protocol.ReasonPINLocked)
	if n := len(h.fake.Shown(t)); n != 3 {
		t.Errorf("a locked token got a dialog (%d dialogs)", n)
	}
}

// inFreshProcess runs the calling test alone in a new process of this
// test binary and reports true in the parent, which then returns; in the
// child it reports false and the test runs. openCryptoki's tests need it:
// openCryptoki 3.8 crashes in C_Initialize in a process that loaded and
// unloaded SoftHSM before, as the other tests of this binary do.
func inFreshProcess(t *testing.T) bool {
	const env = "TTE_FRESH_PROCESS"
	if os.Getenv(env) == t.Name() {
		return false
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s in its own process failed: %v\n%s", t.Name(), err, out)
	}
	return true
}
