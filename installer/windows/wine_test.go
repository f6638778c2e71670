//go:build linux

package windows

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/internal/testscale"
)

var (
	prefixOnce sync.Once
	prefixDir  string
	prefixErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if prefixDir != "" {
		exec.Command(wineserver(), "-k").Run()
		os.RemoveAll(prefixDir)
	}
	os.Exit(code)
}

func lookup(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

func wine64() string { return lookup("wine64", "/usr/lib/wine/wine64") }
func wineserver() string {
	return lookup("wineserver", "/usr/lib/wine/wineserver64", "/usr/lib/wine/wineserver")
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if lookup(tool) == "" {
			t.Fatalf("%s is not installed: run scripts/install-deps.sh test", tool)
		}
	}
	if wine64() == "" || wineserver() == "" {
		t.Fatal("wine64 is not installed: run scripts/install-deps.sh test")
	}
}

// prefix makes one wine prefix for the test binary, with the
// bcryptprimitives.dll that wine 8 lacks and Go's runtime needs.
func prefix(t *testing.T) string {
	t.Helper()
	prefixOnce.Do(func() {
		prefixDir, prefixErr = os.MkdirTemp("", "tte-wine-")
		if prefixErr != nil {
			return
		}
		os.Setenv("WINEPREFIX", prefixDir)
		os.Setenv("WINEDEBUG", "-all")
		os.Setenv("WINEDLLOVERRIDES", "mscoree,mshtml=") // no Mono/Gecko prompts
		if out, err := exec.Command(wine64(), "wineboot", "--init").CombinedOutput(); err != nil {
			prefixErr = fmt.Errorf("wineboot: %v\n%s", err, out)
			return
		}
		exec.Command(wineserver(), "-w").Run()
		dll := filepath.Join(prefixDir, "drive_c", "windows", "system32", "bcryptprimitives.dll")
		out, err := exec.Command("x86_64-w64-mingw32-gcc", "-shared", "-O2", "-o", dll, "winetest/bcryptprimitives.c", "winetest/bcryptprimitives.def").CombinedOutput()
		if err != nil {
			prefixErr = fmt.Errorf("building bcryptprimitives.dll: %v\n%s", err, out)
		}
	})
	if prefixErr != nil {
		t.Fatal(prefixErr)
	}
	return prefixDir
}

// buildExe cross-compiles a package of ours for windows/amd64 with mingw,
// with extra linker flags if given.
func buildExe(t *testing.T, pkg string, ldflags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg)+".exe")
	cmd := exec.Command("go", "build", "-ldflags", strings.Join(ldflags, " "), "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=1", "CC=x86_64-w64-mingw32-gcc")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s for windows: %v\n%s", pkg, err, b)
	}
	return out
}

// winPath is a Linux path as wine's Z: drive shows it.
// lockedBuffer is a bytes.Buffer a child process writes while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestAgentUnderWine: the Windows build runs: it prints its version,
// serves agent.info and an empty token list over the WebSocket with no
// token present, and installs and removes its per-user logon start.
func TestAgentUnderWine(t *testing.T) {
	need(t, "x86_64-w64-mingw32-gcc")
	prefix(t)
	exe := buildExe(t, "github.com/tte-agent/tte-agent/cmd/tte-agent")

	out, err := exec.Command(wine64(), exe, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "tte-agent ") {
		t.Fatalf("version under wine: %v\n%s", err, out)
	}

	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen = %q
[pkcs11]
modules = []
[[origins]]
origin = "https://eoffice.kota.go.id"
allow = ["documents"]
[audit]
path = %q
eventlog = true
[uploads]
dir = %q
[metrics]
listen = ""
`, addr, winPath(filepath.Join(dir, "audit.log")), winPath(filepath.Join(dir, "spool")))), 0o600)
	var log lockedBuffer // wine writes it while the test reads it
	run := exec.Command(wine64(), exe, "run", "--config", winPath(cfg), "--policy", "")
	// Wine's ReportEventW traces each event's strings on the eventlog
	// channel: as far as the Windows event log goes under wine.
	run.Env = append(os.Environ(), "WINEDEBUG=trace+eventlog")
	run.Stdout, run.Stderr = &log, &log
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { run.Process.Kill(); run.Wait() }()

	var ws *websocket.Conn
	deadline := time.Now().Add(testscale.D(60 * time.Second))
	for {
		ws, _, err = websocket.DefaultDialer.Dial("ws://"+addr+"/v1", http.Header{"Origin": {"https://eoffice.kota.go.id"}})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent under wine never answered: %v\n%s", err, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer ws.Close()
	call := func(method string) json.RawMessage {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(testscale.D(20 * time.Second)))
		if err := ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method}); err != nil {
			t.Fatal(err)
		}
		var res struct {
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := ws.ReadJSON(&res); err != nil || res.Error != nil {
			t.Fatalf("%s under wine: %v %s", method, err, res.Error)
		}
		return res.Result
	}
	var info struct {
		Name   string   `json:"name"`
		Origin string   `json:"origin"`
		Allow  []string `json:"allow"`
	}
	json.Unmarshal(call("agent.info"), &info)
	if info.Name != "tte-agent" || info.Origin != "https://eoffice.kota.go.id" || len(info.Allow) != 1 {
		t.Errorf("agent.info under wine: %+v", info)
	}
	// The agent's start record went to the event log too.
	if !strings.Contains(log.String(), "trace:eventlog") || !strings.Contains(log.String(), `{\"seq\":1,`) {
		t.Errorf("no audit record reached the event log under wine:\n%s", log.String())
	}
	if toks := string(call("tokens.list")); toks != `{"tokens":[]}` {
		t.Errorf("tokens.list with no token: %s", toks)
	}
	// A page from another origin is refused there too.
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1", http.Header{"Origin": {"https://evil.example"}}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("another origin under wine: %v", err)
	}

	// The per-user logon start: the Run key, and nothing left after.
	svc := func(args ...string) string {
		out, _ := exec.Command(wine64(), append([]string{exe, "service"}, args...)...).CombinedOutput()
		return string(out)
	}
	if out := svc("install", "--config", winPath(cfg)); !strings.Contains(out, `tte-agent installed: HKCU\Software\Microsoft\Windows\CurrentVersion\Run\tte-agent`) {
		t.Fatalf("service install under wine:\n%s", out)
	}
	reg, _ := exec.Command(wine64(), "reg", "query", `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`, "/v", "tte-agent").CombinedOutput()
	if !strings.Contains(string(reg), "tte-agent.exe") || !strings.Contains(string(reg), "run --config") || !strings.Contains(string(reg), "--background") {
		t.Errorf("Run key after install:\n%s", reg)
	}
	if out := svc("status"); !strings.Contains(out, "installed, not running") {
		t.Errorf("service status after install:\n%s", out)
	}
	if out := svc("install"); !strings.Contains(out, "already installed") {
		t.Errorf("second install:\n%s", out)
	}
	if out := svc("uninstall"); !strings.Contains(out, "tte-agent uninstalled") {
		t.Errorf("service uninstall:\n%s", out)
	}
	if out := svc("status"); !strings.Contains(out, "not installed") {
		t.Errorf("service status after uninstall:\n%s", out)
	}
}

// xvfb starts an X server on a free display for wine's windows.
func xvfb(t *testing.T) string {
	t.Helper()
	for n := 90; n < 140; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
			continue
		}
		display := fmt.Sprintf(":%d", n)
		cmd := exec.Command("Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		for i := 0; i < 100; i++ {
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
				return display
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("Xvfb %s did not start", display)
	}
	t.Fatal("no free X display")
	return ""
}

// TestNativeDialogUnderWine drives the native consent/PIN dialog, as the
// agent opens it (agent.NewPrompter with no pinentry program), with
// xdotool: the PIN typed reaches the caller; Escape cancels; an
// unanswered dialog times out; a PIN-pad confirmation returns no PIN.
func TestNativeDialogUnderWine(t *testing.T) {
	need(t, "x86_64-w64-mingw32-gcc", "Xvfb", "xdotool", "xwd")
	prefix(t)
	exe := buildExe(t, "github.com/tte-agent/tte-agent/installer/windows/dialogcheck")
	display := xvfb(t)
	keep, _ := filepath.Abs("output")
	os.MkdirAll(keep, 0o755)

	xdo := func(ctx context.Context, args ...string) string {
		cmd := exec.CommandContext(ctx, "xdotool", args...)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	tests := []struct {
		name  string
		args  []string
		keys  func(ctx context.Context, win string)
		want  string
		pin   string
		image string
	}{
		{"PIN typed", nil, func(ctx context.Context, win string) {
			xdo(ctx, "type", "--delay", "40", "24681357")
			xdo(ctx, "key", "Return")
		}, "ok", "24681357", "dialog-pin.png"},
		{"Escape cancels", nil, func(ctx context.Context, win string) { xdo(ctx, "key", "Escape") }, "cancelled", "", ""},
		{"unanswered", []string{"--timeout", "3s"}, func(context.Context, string) {}, "timeout", "", ""},
		{"PIN pad confirmation", []string{"--confirm"}, func(ctx context.Context, win string) { xdo(ctx, "key", "Return") }, "ok", "", "dialog-pinpad.png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testscale.D(90*time.Second))
			defer cancel()
			cmd := exec.CommandContext(ctx, wine64(), append([]string{exe}, tt.args...)...)
			cmd.Env = append(os.Environ(), "DISPLAY="+display)
			var out bytes.Buffer
			cmd.Stdout = &out
			cmd.Stderr = &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			win := xdo(ctx, "search", "--sync", "--onlyvisible", "--name", "tte-agent")
			win = strings.Fields(win)[0]
			xdo(ctx, "windowfocus", "--sync", win)
			if tt.image != "" {
				screenshot(t, display, filepath.Join(keep, tt.image))
			}
			tt.keys(ctx, win)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("dialogcheck: %v\n%s", err, out.String())
			}
			var res map[string]string
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatalf("dialogcheck said %q: %v", out.String(), err)
			}
			if res["prompter"] != "native" || res["result"] != tt.want || res["pin"] != tt.pin {
				t.Errorf("got %v, want native %s with PIN %q", res, tt.want, tt.pin)
			}
		})
	}
}

// TestListenUnderWine runs agent/listen's tests in their Windows build:
// the port-taken message, rebinding after a stop, and a SO_REUSEADDR
// socket failing to steal the port. Under wine the last cannot fail for
// want of SO_EXCLUSIVEADDRUSE (wine's sockets are Linux sockets, where
// SO_REUSEADDR never shares a live listener); on Windows it can.
func TestListenUnderWine(t *testing.T) {
	need(t)
	prefix(t)
	exe := filepath.Join(t.TempDir(), "listen.test.exe")
	cmd := exec.Command("go", "test", "-c", "-o", exe, "github.com/tte-agent/tte-agent/agent/listen")
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test -c for windows: %v\n%s", err, out)
	}
	out, err := exec.Command(wine64(), exe, "-test.v").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestReuseAddrCannotSteal") || !strings.Contains(string(out), "--- PASS: TestPortTaken") {
		t.Errorf("agent/listen under wine: %v\n%s", err, out)
	}
}

// TestBrowserTLSUnderWine runs browsertls's tests in their Windows build:
// doctor's TLS report reads a minidriver from the registry, a token
// certificate with its smart card key provider from the user's store, and
// the Firefox policy browser-setup writes.
func TestBrowserTLSUnderWine(t *testing.T) {
	need(t)
	prefix(t)
	exe := filepath.Join(t.TempDir(), "browsertls.test.exe")
	cmd := exec.Command("go", "test", "-c", "-o", exe, "github.com/tte-agent/tte-agent/browsertls")
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test -c for windows: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testscale.D(2*time.Minute))
	defer cancel()
	out, err := exec.CommandContext(ctx, wine64(), exe, "-test.v", "-test.run", "TestReadWindows|TestWindowsReport").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestReadWindows") || !strings.Contains(string(out), "--- PASS: TestWindowsReport") {
		t.Errorf("browsertls under wine: %v\n%s", err, out)
	}
}

// TestBackgroundUnderWine: the console-less build, started as the logon
// start does (`run --background`), serves pages, logs to agent.log in the
// user's %LocalAppData%\tte-agent and records its process id there.
func TestBackgroundUnderWine(t *testing.T) {
	need(t, "x86_64-w64-mingw32-gcc")
	pfx := prefix(t)
	exe := buildExe(t, "github.com/tte-agent/tte-agent/cmd/tte-agent", "-H", "windowsgui")
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("listen = %q\n[pkcs11]\nmodules = []\n[[origins]]\norigin = \"https://eoffice.kota.go.id\"\nallow = [\"documents\"]\n[metrics]\nlisten = \"\"\n", addr)), 0o600)
	state, _ := filepath.Glob(filepath.Join(pfx, "drive_c", "users", "*", "AppData", "Local"))
	if len(state) == 0 {
		t.Fatalf("no AppData\\Local in the wine prefix")
	}
	logFile := filepath.Join(state[0], "tte-agent", "agent.log")
	os.Remove(logFile)
	run := exec.Command(wine64(), exe, "run", "--background", "--config", winPath(cfg), "--policy", "")
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { run.Process.Kill(); run.Wait() }()
	deadline := time.Now().Add(testscale.D(60 * time.Second))
	for {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1", http.Header{"Origin": {"https://eoffice.kota.go.id"}})
		if err == nil {
			ws.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background agent never answered: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	data, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(data), "tte-agent listening") {
		t.Errorf("agent.log: %v\n%s", err, data)
	}
	if pid, err := os.ReadFile(filepath.Join(filepath.Dir(logFile), "agent.pid")); err != nil || len(strings.TrimSpace(string(pid))) == 0 {
		t.Errorf("agent.pid: %v %q", err, pid)
	}
}
