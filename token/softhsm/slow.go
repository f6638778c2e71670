package softhsm

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

//go:embed slowsign/slowsign.c
var slowSource []byte

// SlowModule is a PKCS#11 module that signs at a smartcard's pace: every
// call goes to the store's SoftHSM, but each signature takes Delay and
// only one runs at a time across all sessions, as on a card with one
// crypto engine. Tests and benchmarks use it to show that a batch is
// bound by the token, not by the agent's work around the signatures.
type SlowModule struct {
	// Path is the module to name in [pkcs11] modules.
	Path  string
	Delay time.Duration
	// target is the real module.
	target string
}

// BuildSlowModule compiles the pass-through module (gcc, with the PKCS#11
// headers of github.com/miekg/pkcs11 from the module cache) into dir.
func (s *Store) BuildSlowModule(dir string, delay time.Duration) (*SlowModule, error) {
	if _, err := exec.LookPath("gcc"); err != nil {
		return nil, fmt.Errorf("the slow test module needs gcc: %w", err)
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/miekg/pkcs11").Output()
	headers := strings.TrimSpace(string(out))
	if err != nil || headers == "" {
		return nil, fmt.Errorf("the slow test module needs the PKCS#11 headers of github.com/miekg/pkcs11 (go mod download): %v", err)
	}
	src := filepath.Join(dir, "slowsign.c")
	if err := os.WriteFile(src, slowSource, 0o600); err != nil {
		return nil, err
	}
	lib := filepath.Join(dir, "slowsign.so")
	cmd := exec.Command("gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-I", headers, "-o", lib, src, "-ldl", "-lpthread")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gcc slowsign.c: %v\n%s", err, msg)
	}
	return &SlowModule{Path: lib, Delay: delay, target: s.Module}, nil
}

// Env returns the environment entries a process that loads the module
// needs (besides the store's SOFTHSM2_CONF).
func (m *SlowModule) Env() []string {
	return []string{"TTE_SLOWSIGN_TARGET=" + m.target, fmt.Sprintf("TTE_SLOWSIGN_MS=%d", m.Delay.Milliseconds())}
}
