package main

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// ensureUser creates a system user for the test if it does not exist
// and returns its credentials.
func ensureUser(t *testing.T, name string) *syscall.Credential {
	t.Helper()
	if _, err := user.Lookup(name); err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v\n%s", name, err, out)
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// TestRootServesListedUsers runs the real agent as root (a kiosk or
// system service) under a policy that lists one kiosk user: that user's
// pages connect (as root's own do), another user's are refused even with
// the right Origin and Host; with no policy, only root's. The test creates both users; it needs root, as
// CI has, and fails otherwise.
func TestRootServesListedUsers(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test runs the agent as root and creates OS users; run it as root (CI does)")
	}
	kiosk := ensureUser(t, "tte-kiosk-test")
	stranger := ensureUser(t, "tte-stranger-test")
	addr := freePort(t)
	cfg, _ := setup(t, addr)
	policy := filepath.Join(filepath.Dir(cfg), "policy.toml")
	os.WriteFile(policy, []byte("allow_users = [\"tte-kiosk-test\"]\n[[origins]]\norigin = \"https://a.go.id\"\nallow = [\"digest\"]\n"), 0o644)
	startAgent(t, exec.Command(buildAgent(t), "run", "--config", cfg, "--policy", policy), addr)

	// The other users run a copy of the test binary from a directory they
	// may enter.
	dir, err := os.MkdirTemp("", "tte-root-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	self, _ := os.Executable()
	data, _ := os.ReadFile(self)
	bin := filepath.Join(dir, "dial")
	os.WriteFile(bin, data, 0o755)
	dial := func(cred *syscall.Credential) string {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "TTE_WS_DIAL="+addr)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("dialler: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, c := range []struct {
		who  string
		cred *syscall.Credential
		want string
	}{{"the kiosk user", kiosk, "STATUS 101"}, {"another user", stranger, "STATUS 403"}, {"root", nil, "STATUS 101"}} {
		if got := dial(c.cred); !strings.HasSuffix(got, c.want) {
			t.Errorf("%s: %q, want %s", c.who, got, c.want)
		}
	}
}
