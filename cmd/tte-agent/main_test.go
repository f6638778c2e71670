package main

import (
	"bytes"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/token/softhsm"
)

// TestMain lets the test binary act as tte-agent for subprocess tests.
func TestMain(m *testing.M) {
	if os.Getenv("TTE_AGENT_AS_MAIN") == "1" {
		main()
		return
	}
	if addr := os.Getenv("TTE_WS_DIAL"); addr != "" {
		// A page's connection from another OS user (TestRootServesListedUsers).
		ws, resp, _ := websocketDial(addr)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		if ws != nil {
			ws.Close()
		}
		fmt.Println("STATUS", status)
		os.Exit(0)
	}
	if ports := os.Getenv("TTE_FIND_AGENT"); ports != "" {
		// A page of one OS user looking for its agent (TestTwoUsers).
		fmt.Println(findAgent(strings.Split(ports, ",")))
		os.Exit(0)
	}
	// testscript (doctor_test.go) runs these as programs.
	testscript.Main(m, map[string]func(){"tte-agent": main, "mktoken": mktokenMain})
}

func TestVersionAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "tte-agent ") {
		t.Errorf("version: code %d, out %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("unknown command: code %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"run", "--config", "/nonexistent/config.toml"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "failed to read configuration /nonexistent/config.toml") {
		t.Errorf("run with a missing config: code %d, stderr %q", code, errb.String())
	}
}

// setup creates a SoftHSM token and a configuration using it.
func setup(t *testing.T, listen string) (cfgPath, serial string) {
	t.Helper()
	dir := t.TempDir()
	store, err := softhsm.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", store.Conf)
	ca, err := softhsm.NewCA(pkix.Name{CommonName: "CLI CA"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := store.CreateToken(softhsm.TokenSpec{Label: "Kartu ASN", PIN: "1111", SOPIN: "22222222", Keys: []softhsm.KeySpec{
		{Label: "k", ID: []byte{0xa1}, Type: "EC-P256", Subject: pkix.Name{CommonName: "Dewi Lestari"}},
	}}, ca)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(dir, "config.toml")
	conf := fmt.Sprintf("listen = %q\n[pkcs11]\nmodules = [%q]\n[[origins]]\norigin = \"https://a.go.id\"\nallow = [\"digest\"]\n[audit]\npath = %q\n[uploads]\ndir = %q\n[metrics]\nlisten = \"\"\n[pinentry]\nprogram = \"/bin/false\"\n",
		listen, store.Module, filepath.Join(dir, "audit.log"), filepath.Join(dir, "spool"))
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, tok.Serial
}

func TestTokensCommand(t *testing.T) {
	cfg, serial := setup(t, "127.0.0.1:0")
	var out, errb bytes.Buffer
	if code := run([]string{"tokens", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("code %d, stderr %s", code, errb.String())
	}
	for _, want := range []string{`Token "Kartu ASN"`, "serial " + serial, "PIN ok", "PIN pad no",
		serial + "/a1", "Dewi Lestari", "EC-P256", "issuer CLI CA", "days left"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRunStopsCleanly runs the agent as a process: it serves, and stops
// with exit code 0 on SIGTERM.
func TestRunStopsCleanly(t *testing.T) {
	addr := freePort(t)
	cfg, _ := setup(t, addr)
	cmd := exec.Command(os.Args[0], "run", "--config", cfg)
	cmd.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testscale.D(10 * time.Second))
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("agent never listened: %s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "stopping") {
		t.Errorf("log lacks the stop message:\n%s", errb.String())
	}
}

// TestStopAtAnyMoment stops the agent at moments from its first
// millisecond to well after it listens. Each stop is clean: the process
// exits 0 (or, before Go's runtime has run main, dies of the signal with
// nothing written), a trail that says the agent started also says it
// stopped and verifies, and the spool is empty.
func TestStopAtAnyMoment(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond, 50 * time.Millisecond, 60 * time.Millisecond, 80 * time.Millisecond, 120 * time.Millisecond, 250 * time.Millisecond} {
		addr := freePort(t)
		cfg, _ := setup(t, addr)
		dir := filepath.Dir(cfg)
		os.MkdirAll(filepath.Join(dir, "spool"), 0o700)
		os.WriteFile(filepath.Join(dir, "spool", "upload-left-by-a-crash"), []byte("x"), 0o600)
		cmd := exec.Command(os.Args[0], "run", "--config", cfg)
		cmd.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(testscale.D(20 * time.Second)):
			cmd.Process.Kill()
			t.Fatalf("after %v: the agent did not stop:\n%s", delay, errb.String())
		}
		trail, _ := os.ReadFile(filepath.Join(dir, "audit.log"))
		started := bytes.Contains(trail, []byte(`"agent_started"`))
		if err != nil && (started || !strings.Contains(err.Error(), "signal: terminated")) {
			t.Errorf("after %v: exit %v\n%s", delay, err, errb.String())
		}
		if started != bytes.Contains(trail, []byte(`"agent_stopped"`)) {
			t.Errorf("after %v: the trail says started without stopped:\n%s", delay, trail)
		}
		if started {
			var out, verr bytes.Buffer
			if code := run([]string{"audit", "verify", "--config", cfg}, &out, &verr); code != 0 {
				t.Errorf("after %v: audit verify: %s%s", delay, out.String(), verr.String())
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "spool", "upload-*")); len(left) != 0 {
				t.Errorf("after %v: spool not empty: %v", delay, left)
			}
		}
		t.Logf("stop after %v: exit %v, started %v", delay, err, started)
	}
}

// TestPortTaken: with listen_ports = 1 the agent exits non-zero and says
// the port is in use; with the default range it starts on the next free
// port (another user's agent holds the first on a shared machine).
func TestPortTaken(t *testing.T) {
	// A taken port whose next one is free.
	var l net.Listener
	for range 50 {
		c, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", c.Addr().(*net.TCPAddr).Port+1)); err == nil {
			n.Close()
			l = c
			break
		}
		c.Close()
	}
	if l == nil {
		t.Fatal("found no free port whose next port is free")
	}
	defer l.Close()
	cfg, _ := setup(t, l.Addr().String())
	data, _ := os.ReadFile(cfg)
	one := strings.Replace(string(data), "\n", "\nlisten_ports = 1\n", 1)
	single := filepath.Join(filepath.Dir(cfg), "single.toml")
	os.WriteFile(single, []byte(one), 0o600)
	cmd := exec.Command(os.Args[0], "run", "--config", single)
	cmd.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("agent started on a taken port:\n%s", out)
	}
	if !strings.Contains(string(out), "address already in use") || !strings.Contains(string(out), "another program using the port") {
		t.Errorf("message does not say the port is taken:\n%s", out)
	}

	port := l.Addr().(*net.TCPAddr).Port
	next := fmt.Sprintf("127.0.0.1:%d", port+1)
	cmd = exec.Command(os.Args[0], "run", "--config", cfg)
	cmd.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	deadline := time.Now().Add(testscale.D(20 * time.Second))
	for {
		if c, err := net.Dial("tcp", next); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not start on %s:\n%s", next, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAuditVerifyCommand: a trail written by a running agent verifies, and
// an edited record is named.
func TestAuditVerifyCommand(t *testing.T) {
	addr := freePort(t)
	cfg, _ := setup(t, addr)
	cmd := exec.Command(os.Args[0], "run", "--config", cfg)
	cmd.Env = append(os.Environ(), "TTE_AGENT_AS_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(testscale.D(10 * time.Second)); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("agent did not start")
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	var out, errb bytes.Buffer
	if code := run([]string{"audit", "verify", "--config", cfg}, &out, &errb); code != 0 || !strings.Contains(out.String(), "audit trail intact: 2 records") {
		t.Fatalf("verify: code %d, out %q, err %q", code, out.String(), errb.String())
	}
	today := time.Now().Format("2006-01-02")
	out.Reset()
	if code := run([]string{"audit", "report", "--from", today, "--to", today, "--config", cfg}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "Audit trail: intact") || !strings.Contains(out.String(), "total signed items: 0") {
		t.Errorf("report: code %d, out %q, err %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"audit", "report", "--from", today, "--to", today, "--format", "json", "--config", cfg}, &out, &errb); code != 0 || !strings.Contains(out.String(), `"intact": true`) {
		t.Errorf("JSON report: code %d, out %q", code, out.String())
	}
	trail := filepath.Join(filepath.Dir(cfg), "audit.log")
	data, _ := os.ReadFile(trail)
	os.WriteFile(trail, bytes.Replace(data, []byte("agent_started"), []byte("agent_stopped"), 1), 0o600)
	out.Reset()
	errb.Reset()
	if code := run([]string{"audit", "verify", "--config", cfg}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "line 1 (record 1)") || !strings.Contains(errb.String(), "edited") {
		t.Errorf("tampered trail: code %d, stderr %q", code, errb.String())
	}
}
