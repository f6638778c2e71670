package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
)

// TestListenersUnderFlood runs the real agent with only 256 file
// descriptors and floods each listener in turn with 500 idle connections:
// the other listener keeps serving, the token stays usable, the process
// never holds more than a bounded number of descriptors, and the metrics
// listener answers only requests whose Host is its own loopback address.
func TestListenersUnderFlood(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Fatal("prlimit (util-linux) is not installed")
	}
	addr, maddr := freePort(t), freePort(t)
	cfg, serial := setup(t, addr)
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(data, []byte("[metrics]\nlisten = \"\""), fmt.Appendf(nil, "[metrics]\nlisten = %q", maddr), 1), 0o600)
	agent := startAgent(t, exec.Command("prlimit", "--nofile=256:256", "--", buildAgent(t), "run", "--config", cfg), addr)
	// The WebSocket port answers as soon as it is bound; the metrics
	// listener comes a moment later.
	for deadline := time.Now().Add(testscale.D(10 * time.Second)); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", maddr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the metrics listener %s never answered", maddr)
		}
	}

	get := func(host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+maddr+"/metrics", nil)
		req.Host = host
		resp, err := (&http.Client{Timeout: testscale.D(5 * time.Second)}).Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, host := range []string{"attacker.example:" + strings.Split(maddr, ":")[1], "127.0.0.1.nip.io:" + strings.Split(maddr, ":")[1], "127.0.0.1"} {
		if code, body := get(host); code != http.StatusMisdirectedRequest || strings.Contains(body, serial) {
			t.Errorf("Host %s: %d, want 421 and no token serial", host, code)
		}
	}
	if code, body := get(maddr); code != 200 || !strings.Contains(body, serial) {
		t.Fatalf("Host %s: %d %.200s", maddr, code, body)
	}

	pageWorks := func(what string) {
		t.Helper()
		c := dialAgent(t, addr)
		a := c.call("tokens.list", map[string]any{})
		if a.Error != nil || !strings.Contains(string(a.Result), serial) {
			t.Errorf("%s: tokens.list %s %+v", what, a.Result, a.Error)
		}
		c.ws.Close()
	}
	flood := func(target string) []net.Conn {
		t.Helper()
		var conns []net.Conn
		for range 500 {
			c, err := net.Dial("tcp", target)
			if err != nil {
				t.Fatalf("dial %s: %v", target, err)
			}
			conns = append(conns, c)
		}
		time.Sleep(testscale.D(200 * time.Millisecond))
		return conns
	}
	fds := func() int {
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", agent.Process.Pid))
		return len(ents)
	}
	closeAll := func(conns []net.Conn) {
		for _, c := range conns {
			c.Close()
		}
	}

	conns := flood(maddr)
	pageWorks("metrics flooded")
	t.Logf("metrics flooded: the agent holds %d descriptors", fds())
	if n := fds(); n > 150 {
		t.Errorf("the agent holds %d descriptors under the metrics flood", n)
	}
	closeAll(conns)

	conns = flood(addr)
	if code, _ := get(maddr); code != 200 {
		t.Errorf("WebSocket flooded: metrics answered %d", code)
	}
	t.Logf("WebSocket flooded: the agent holds %d descriptors", fds())
	if n := fds(); n > 150 {
		t.Errorf("the agent holds %d descriptors under the WebSocket flood", n)
	}
	closeAll(conns)
	// Once the flood is gone, pages and the token work again.
	deadline := time.Now().Add(testscale.D(15 * time.Second))
	for {
		c, _, err := websocketDial(addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the WebSocket listener did not recover: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	pageWorks("after the floods")
}
