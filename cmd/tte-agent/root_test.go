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

	"golang.org/x/sys/unix"
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

// TestNoCoreDumps: the running agent is not dumpable and may write no
// core file, so the PIN it holds for a request cannot end up on disk or
// be read by another process of the same user.
func TestNoCoreDumps(t *testing.T) {
	addr := freePort(t)
	cfg, _ := setup(t, addr)
	agent := startAgent(t, exec.Command(buildAgent(t), "run", "--config", cfg), addr)
	limits, err := os.ReadFile("/proc/" + strconv.Itoa(agent.Process.Pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(line, "Max core file size") && !strings.Contains(line, " 0 ") {
			t.Errorf("core files allowed: %s", line)
		}
	}
}

// TestHardenNotDumpable runs harden in a child process: afterwards the
// process is not dumpable (no ptrace or /proc/PID/mem for the same user)
// and may write no core file.
func TestHardenNotDumpable(t *testing.T) {
	if os.Getenv("TTE_HARDEN_CHILD") != "" {
		if err := harden(); err != nil {
			t.Fatal(err)
		}
		d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		var lim unix.Rlimit
		unix.Getrlimit(unix.RLIMIT_CORE, &lim)
		if err != nil || d != 0 || lim.Cur != 0 || lim.Max != 0 {
			t.Fatalf("dumpable %d (%v), core limit %d/%d", d, err, lim.Cur, lim.Max)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHardenNotDumpable$")
	cmd.Env = append(os.Environ(), "TTE_HARDEN_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
