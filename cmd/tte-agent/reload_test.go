package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/internal/testscale"
)

// TestPolicyReload runs the agent under a policy, then changes the policy:
// on SIGHUP, and again by only rewriting the file. Connections stay open
// through both reloads; what they may do, and who may connect, follows the
// policy in force.
func TestPolicyReload(t *testing.T) {
	addr := freePort(t)
	cfg, _ := setup(t, addr) // the user's config allows https://a.go.id (digest)
	dir := filepath.Dir(cfg)
	policy := filepath.Join(dir, "policy.toml")
	writePolicy := func(origins ...string) {
		var b strings.Builder
		for _, o := range origins {
			b.WriteString("[[origins]]\norigin = \"" + o + "\"\nallow = [\"digest\"]\n")
		}
		if err := os.WriteFile(policy, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writePolicy("https://a.go.id", "https://b.go.id")
	logPath := filepath.Join(dir, "agent.log")
	logf, _ := os.Create(logPath)
	defer logf.Close()
	cmd := exec.Command(os.Args[0], "run", "--config", cfg, "--policy", policy)
	cmd.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1")
	cmd.Stderr = logf
	agent := startAgent(t, cmd, addr)

	dial := func(origin string) (*websocket.Conn, int) {
		ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1", http.Header{"Origin": {origin}})
		if err != nil {
			if resp != nil {
				return nil, resp.StatusCode
			}
			t.Fatalf("dial %s: %v", origin, err)
		}
		return ws, 101
	}
	allow := func(ws *websocket.Conn) string {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(testscale.D(10 * time.Second)))
		if err := ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "agent.info"}); err != nil {
			t.Fatalf("the connection was dropped: %v", err)
		}
		var res struct {
			Result struct {
				Allow []string `json:"allow"`
			} `json:"result"`
		}
		if err := ws.ReadJSON(&res); err != nil {
			t.Fatalf("the connection was dropped: %v", err)
		}
		return strings.Join(res.Result.Allow, ",")
	}
	waitLog := func(n int) {
		t.Helper()
		deadline := time.Now().Add(testscale.D(15 * time.Second))
		for strings.Count(readFile(logPath), "configuration reloaded") < n {
			if time.Now().After(deadline) {
				t.Fatalf("no reload %d in the log:\n%s", n, readFile(logPath))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	a, code := dial("https://a.go.id")
	if code != 101 || allow(a) != "digest" {
		t.Fatalf("before any reload: %d", code)
	}
	// A policy origin the user's config does not mention is allowed as
	// the policy says.
	if b, code := dial("https://b.go.id"); code != 101 {
		t.Errorf("b.go.id is in the policy: %d, want 101", code)
	} else {
		b.Close()
	}

	// The policy drops a.go.id; SIGHUP.
	writePolicy("https://b.go.id")
	agent.Process.Signal(syscall.SIGHUP)
	waitLog(1)
	if got := allow(a); got != "" {
		t.Errorf("a.go.id's open connection still may %q after the policy dropped it", got)
	}
	if _, code := dial("https://a.go.id"); code != 403 {
		t.Errorf("new connection from a dropped origin: %d, want 403", code)
	}
	if !strings.Contains(readFile(logPath), "origin https://a.go.id is in your configuration but not in the policy") {
		t.Errorf("the log does not say why a.go.id is refused:\n%s", readFile(logPath))
	}

	// The file changes again, with no signal: the agent notices by itself.
	time.Sleep(1100 * time.Millisecond) // a new modification time
	writePolicy("https://a.go.id")
	waitLog(2)
	if got := allow(a); got != "digest" {
		t.Errorf("a.go.id after the policy allowed it again: %q", got)
	}
	if ws, code := dial("https://a.go.id"); code != 101 {
		t.Errorf("new connection after the reload: %d", code)
	} else {
		ws.Close()
	}

	// A broken policy keeps the old one in force.
	os.WriteFile(policy, []byte("listen = "), 0o644)
	deadline := time.Now().Add(testscale.D(15 * time.Second))
	for !strings.Contains(readFile(logPath), "configuration not reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("a broken policy was not reported:\n%s", readFile(logPath))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := allow(a); got != "digest" {
		t.Errorf("after a broken policy: %q, want the old policy in force", got)
	}

	// Deleting the policy keeps it in force: a.go.id, which only the
	// user's configuration allows, stays refused.
	time.Sleep(1100 * time.Millisecond)
	writePolicy("https://b.go.id")
	waitLog(3)
	if _, code := dial("https://a.go.id"); code != 403 {
		t.Fatalf("a.go.id under a policy without it: %d", code)
	}
	os.Remove(policy)
	agent.Process.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(testscale.D(15 * time.Second))
	for !strings.Contains(readFile(logPath), "the policy file is gone") {
		if time.Now().After(deadline) {
			t.Fatalf("a deleted policy was not reported:\n%s", readFile(logPath))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ws, code := dial("https://a.go.id"); code != 403 {
		t.Errorf("after the policy was deleted a.go.id got %d, want 403: the last good policy stays", code)
		if ws != nil {
			ws.Close()
		}
	}
}

// A policy named with --policy that does not exist is an error, never
// "no policy".
func TestPolicyFlagMissing(t *testing.T) {
	cfg, _ := setup(t, freePort(t))
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--config", cfg, "--policy", filepath.Join(t.TempDir(), "nonexistent.toml")}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "--policy") {
		t.Errorf("code %d, stderr %q", code, errb.String())
	}
}

// A user configuration that others may write is warned about by run and
// doctor: it names the PIN dialog and the token drivers the agent loads.
func TestWritableConfigWarned(t *testing.T) {
	addr := freePort(t)
	cfg, _ := setup(t, addr)
	os.Chmod(cfg, 0o666)
	var out, errb bytes.Buffer
	run([]string{"doctor", "--config", cfg, "--policy", ""}, &out, &errb)
	if !strings.Contains(out.String()+errb.String(), "writable by others") {
		t.Errorf("doctor does not warn:\n%s%s", out.String(), errb.String())
	}
	logPath := filepath.Join(t.TempDir(), "agent.log")
	logf, _ := os.Create(logPath)
	defer logf.Close()
	cmd := exec.Command(os.Args[0], "run", "--config", cfg)
	cmd.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1")
	cmd.Stderr = logf
	startAgent(t, cmd, addr)
	if !strings.Contains(readFile(logPath), "writable by others") {
		t.Errorf("run does not warn:\n%s", readFile(logPath))
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(bytes.ToValidUTF8(b, nil))
}
