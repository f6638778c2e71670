package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/nativemsg"
)

const usersOrigin = "https://eoffice.kota.go.id"

// syncBuffer is a bytes.Buffer a process's output and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// findAgent does what the JS client does on a page: GET /v1/hello on each
// port until one answers this origin, then opens the WebSocket there and
// asks agent.info. It prints "FOUND port" and the agent's answer, or
// "NONE".
func findAgent(ports []string) string {
	client := &http.Client{Timeout: 2 * time.Second}
	for _, p := range ports {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+p+"/v1/hello", nil)
		req.Header.Set("Origin", usersOrigin)
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// A browser reads the answer only with CORS headers for its origin.
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != usersOrigin || !bytes.Contains(body, []byte(`"tte-agent"`)) {
			continue
		}
		ws, _, err := websocket.DefaultDialer.Dial("ws://127.0.0.1:"+p+"/v1", http.Header{"Origin": {usersOrigin}})
		if err != nil {
			return "FOUND " + p + " but the WebSocket failed: " + err.Error()
		}
		defer ws.Close()
		ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "agent.info"})
		var answer map[string]any
		if err := ws.ReadJSON(&answer); err != nil || answer["result"] == nil {
			return "FOUND " + p + " but agent.info failed"
		}
		return "FOUND " + p + " info ok"
	}
	return "NONE"
}

// TestTwoUsers: two OS users logged in on one machine (a terminal server,
// a shared PC) each run their own agent with the default port range: the
// second takes the next port, its taken metrics port only turns its
// metrics off, and each user's page finds that user's agent and no other.
func TestTwoUsers(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test runs agents as two OS users it creates; run it as root (CI does)")
	}
	users := []*syscall.Credential{ensureUser(t, "tte-user-a-test"), ensureUser(t, "tte-user-b-test")}
	// Three consecutive free ports, and a metrics port.
	var base int
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base = l.Addr().(*net.TCPAddr).Port
		l.Close()
		free := base+2 <= 65535
		for i := 1; i <= 2 && free; i++ {
			if c, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i)); err == nil {
				c.Close()
			} else {
				free = false
			}
		}
		if free {
			break
		}
		base = 0
	}
	if base == 0 {
		t.Fatal("found no three consecutive free ports")
	}
	metricsAddr := freePort(t)
	// Everything the users run lives where they may enter.
	root, err := os.MkdirTemp("", "tte-users-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	os.Chmod(root, 0o755)
	self, _ := os.Executable()
	data, _ := os.ReadFile(self)
	bin := filepath.Join(root, "tte-agent.test")
	os.WriteFile(bin, data, 0o755)
	logs := make([]*syncBuffer, len(users))
	for i, cred := range users {
		home := filepath.Join(root, fmt.Sprintf("home%d", i))
		os.MkdirAll(home, 0o700)
		os.Chown(home, int(cred.Uid), int(cred.Gid))
		cfg := filepath.Join(home, "config.toml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`listen = "127.0.0.1:%d"
listen_ports = 3
[[origins]]
origin = %q
allow = ["documents"]
[pkcs11]
modules = ["/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so"]
[pinentry]
program = "/bin/false"
[audit]
path = %q
[uploads]
dir = %q
[metrics]
listen = %q
`, base, usersOrigin, filepath.Join(home, "audit.log"), filepath.Join(home, "spool"), metricsAddr)), 0o600)
		os.Chown(cfg, int(cred.Uid), int(cred.Gid))
		cmd := exec.Command(bin, "run", "--config", cfg, "--policy", "")
		cmd.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1", "HOME="+home, "XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		logs[i] = &syncBuffer{}
		cmd.Stderr = logs[i]
		startAgent(t, cmd, fmt.Sprintf("127.0.0.1:%d", base+i))
	}
	// The port answers as soon as it is bound; the metrics come after.
	for deadline := time.Now().Add(testscale.D(10 * time.Second)); !strings.Contains(logs[1].String(), "metrics port is taken"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the second agent does not say its metrics are off:\n%s", logs[1])
		}
	}
	if !strings.Contains(logs[1].String(), "signing goes on") {
		t.Errorf("the second agent's warning does not say signing goes on:\n%s", logs[1])
	}
	ports := strings.Join([]string{strconv.Itoa(base), strconv.Itoa(base + 1), strconv.Itoa(base + 2)}, ",")
	for i, cred := range users {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "TTE_FIND_AGENT="+ports)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		want := fmt.Sprintf("FOUND %d info ok", base+i)
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("user %d's page: %v %q, want %q\nagent log:\n%s", i, err, out, want, logs[i])
		}
	}
	// root, a third user, finds no agent: neither serves it.
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "TTE_FIND_AGENT="+ports)
	if out, _ := cmd.CombinedOutput(); strings.TrimSpace(string(out)) != "NONE" {
		t.Errorf("another user's page found an agent: %s", out)
	}

	// Through the browser extension: each user's native host reaches that
	// user's agent; root's host, which the socket's mode and directory do
	// not stop, is refused by the agent's peer-credential check.
	for i, cred := range users {
		home := filepath.Join(root, fmt.Sprintf("home%d", i))
		if open, closed := hostAgentInfo(t, bin, filepath.Join(home, "config.toml"), cred, home); !open || closed != "" {
			t.Errorf("user %d's extension did not reach its agent: %s", i, closed)
		}
	}
	if open, closed := hostAgentInfo(t, bin, filepath.Join(root, "home0", "config.toml"), nil, root); open || !strings.Contains(closed, "refuses") {
		t.Errorf("root's native host reached user 0's agent: open %v, %s", open, closed)
	}
}

// hostAgentInfo runs the native host as cred (nil: this process's user)
// with cfg, as a browser would for an allowed page, asks agent.info and
// says whether the agent took the connection and how it closed.
func hostAgentInfo(t *testing.T, bin, cfg string, cred *syscall.Credential, home string) (bool, string) {
	t.Helper()
	cmd := exec.Command(bin, "native-host", "--config", cfg)
	cmd.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1", "HOME="+home)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var in bytes.Buffer
	for _, m := range []nativemsg.Message{{Origin: usersOrigin}, {Text: `{"jsonrpc":"2.0","id":1,"method":"agent.info"}`}} {
		raw, _ := json.Marshal(m)
		binary.Write(&in, binary.NativeEndian, uint32(len(raw)))
		in.Write(raw)
	}
	cmd.Stdin = &in
	out, _ := cmd.Output()
	open, closed := false, ""
	for r := bytes.NewReader(out); ; {
		raw, err := nativemsg.ReadRaw(r, nativemsg.MaxToBrowser)
		if err != nil {
			break
		}
		var m nativemsg.Message
		json.Unmarshal(raw, &m)
		switch {
		case m.Open:
			open = true
		case m.Closed != nil:
			closed = m.Closed.Reason
		case m.Text != "" && !strings.Contains(m.Text, `"transport":"native"`):
			closed = "agent.info: " + m.Text
		}
	}
	return open, closed
}
