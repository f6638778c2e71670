package wsserver

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gorilla/websocket"
)

// otherUser is the account TestOtherOSUser creates to connect from.
const otherUser = "tte-agent-test"

// TestMain lets the test binary act as a page's connection for
// TestOtherOSUser: with TTE_WS_DIAL set it dials, prints the HTTP status
// and exits.
func TestMain(m *testing.M) {
	if url := os.Getenv("TTE_WS_DIAL"); url != "" {
		_, resp, _ := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {origin}})
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		fmt.Println("STATUS", status)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestOtherOSUser: with the same-user check on, a connection from another
// OS user of the machine is refused even with the right Origin and Host,
// and the agent's own user is let in. The test creates that user; it needs
// root, as CI has, and fails otherwise.
func TestOtherOSUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test creates an OS user and must run as root (CI does)")
	}
	if _, err := user.Lookup(otherUser); err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", otherUser).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v\n%s", err, out)
		}
	}
	u, err := user.Lookup(otherUser)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// The test binary lives in a directory only root may enter; the other
	// user runs a copy.
	dir, err := os.MkdirTemp("", "tte-ws-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	self, _ := os.Executable()
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "dial")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	url := start(t, Config{UID: os.Getuid()})
	dial := func(cred *syscall.Credential) string {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "TTE_WS_DIAL="+url)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("dialler: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := dial(&syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}); got != "STATUS 403" {
		t.Errorf("another user's connection: %q, want STATUS 403", got)
	}
	if got := dial(nil); got != "STATUS 101" {
		t.Errorf("the agent's own user: %q, want STATUS 101", got)
	}
}
