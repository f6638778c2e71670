package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// What `make demo` prints works as printed: the tokens and doctor commands
// see the demo token, and an origin given with -origins is allowed.
func TestDemoPrintsWorkingCommands(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	for _, c := range [][]string{{"-o", filepath.Join(bin, "tte-demo"), "."}, {"-o", filepath.Join(bin, "tte-agent"), "../tte-agent"}} {
		if out, err := exec.Command("go", append([]string{"build"}, c...)...).CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	web, agentAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(filepath.Join(bin, "tte-demo"), "-web", web, "-listen", agentAddr, "-origins", "https://eoffice.example.go.id")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "state"), "PATH="+bin+":"+os.Getenv("PATH"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	var printed []string
	deadline := time.After(testscale.D(60 * time.Second))
	for done := false; !done; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("tte-demo stopped; it printed:\n%s", strings.Join(printed, "\n"))
			}
			printed = append(printed, l)
			done = strings.HasPrefix(l, "Press Ctrl+C")
		case <-deadline:
			t.Fatalf("tte-demo did not start; it printed:\n%s", strings.Join(printed, "\n"))
		}
	}
	var commands []string
	for _, l := range printed {
		if l = strings.TrimSpace(l); regexp.MustCompile(`^SOFTHSM2_CONF=\S+ tte-agent `).MatchString(l) {
			commands = append(commands, l)
		}
	}
	if len(commands) != 2 {
		t.Fatalf("want the tokens and doctor commands, got %q in:\n%s", commands, strings.Join(printed, "\n"))
	}
	shell := func(line string) (string, error) {
		c := exec.Command("sh", "-c", line)
		c.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		b, err := c.CombinedOutput()
		return string(b), err
	}
	got, err := shell(commands[0])
	if err != nil || !strings.Contains(got, demoLabel) {
		t.Errorf("%s: %v\n%s", commands[0], err, got)
	}
	got, _ = shell(commands[1]) // a terminal-only pinentry may make it exit 1
	for _, want := range []string{"origin https://eoffice.example.go.id may documents", "token \"" + demoLabel + "\"", "your tte-agent is running on " + agentAddr} {
		if !strings.Contains(got, want) {
			t.Errorf("%s does not say %q:\n%s", commands[1], want, got)
		}
	}
}
