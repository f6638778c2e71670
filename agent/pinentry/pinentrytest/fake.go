// Package pinentrytest provides a fake pinentry program for tests: a real
// process that speaks Assuan on stdin and stdout, answers with a PIN,
// cancels, or never answers, and records what it was shown.
//
// The fake runs inside the test binary: TestMain calls RunIfFake first, and
// Install writes a small script that starts the test binary in fake mode.
package pinentrytest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const envConfig = "TTE_FAKE_PINENTRY_CONFIG"

// Behaviour says how the fake answers GETPIN and CONFIRM.
type Behaviour struct {
	// Action is "pin" (answer PIN), "cancel", "timeout" (answer the
	// pinentry timeout error), "hang" (never answer), or "garbage" (send
	// a malformed line).
	Action string `json:"action"`
	PIN    string `json:"pin"`
	// Delay waits before answering.
	Delay time.Duration `json:"delay"`
}

// Shown is what one dialog displayed, with the Assuan escapes decoded.
type Shown struct {
	Title    string   `json:"title"`
	Desc     string   `json:"desc"`
	Prompt   string   `json:"prompt"`
	Error    string   `json:"error"`
	OK       string   `json:"ok"`
	Cancel   string   `json:"cancel"`
	KeyInfo  string   `json:"keyinfo"`
	Timeout  string   `json:"timeout"`
	Options  []string `json:"options"`
	Asked    string   `json:"asked"` // GETPIN or CONFIRM
	Commands []string `json:"commands"`
	// RawLines are the command lines as received, escapes intact.
	RawLines []string `json:"rawLines"`
}

type config struct {
	Behaviour Behaviour `json:"behaviour"`
	Record    string    `json:"record"`
}

// Fake is an installed fake pinentry.
type Fake struct {
	// Program is the path to give as [pinentry] program.
	Program string
	dir     string
	mu      sync.Mutex
}

// Install writes a fake pinentry program into a temporary directory and
// sets its behaviour. The test binary's TestMain must call RunIfFake.
func Install(t testing.TB, b Behaviour) *Fake {
	t.Helper()
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := &Fake{Program: filepath.Join(dir, "fake-pinentry"), dir: dir}
	script := fmt.Sprintf("#!/bin/sh\n%s='%s' exec '%s' \"$@\"\n", envConfig, filepath.Join(dir, "config.json"), exe)
	if err := os.WriteFile(f.Program, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	f.Set(t, b)
	return f
}

// Set changes how the fake answers the next dialogs.
func (f *Fake) Set(t testing.TB, b Behaviour) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	data, _ := json.Marshal(config{Behaviour: b, Record: filepath.Join(f.dir, "record.jsonl")})
	tmp := filepath.Join(f.dir, "config.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(f.dir, "config.json")); err != nil {
		t.Fatal(err)
	}
}

// Shown returns every dialog shown so far, oldest first.
func (f *Fake) Shown(t testing.TB) []Shown {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, "record.jsonl"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []Shown
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var s Shown
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("bad record line %q: %v", line, err)
		}
		out = append(out, s)
	}
	return out
}

// RunIfFake runs the fake pinentry and exits if this process was started
// as one; otherwise it returns at once. Call it first in TestMain.
func RunIfFake() {
	path := os.Getenv(envConfig)
	if path == "" {
		return
	}
	os.Exit(run(path))
}

// load reads the behaviour when it is needed, not at start: the agent may
// start a pinentry ahead of its dialog (Program.Warm).
func load(path string) (config, error) {
	var cfg config
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &cfg)
	}
	return cfg, err
}

func run(path string) int {
	cfg, err := load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake pinentry:", err)
		return 2
	}
	var shown Shown
	defer record(cfg.Record, &shown)
	out := bufio.NewWriter(os.Stdout)
	say := func(s string) { out.WriteString(s + "\n"); out.Flush() }
	say("OK Pleased to meet you (fake)")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := in.Text()
		shown.RawLines = append(shown.RawLines, line)
		cmd, arg, _ := strings.Cut(line, " ")
		shown.Commands = append(shown.Commands, cmd)
		text := unescape(arg)
		switch cmd {
		case "SETTITLE":
			shown.Title = text
		case "SETDESC":
			shown.Desc = text
		case "SETPROMPT":
			shown.Prompt = text
		case "SETERROR":
			shown.Error = text
		case "SETOK":
			shown.OK = text
		case "SETCANCEL":
			shown.Cancel = text
		case "SETKEYINFO":
			shown.KeyInfo = text
		case "SETTIMEOUT":
			shown.Timeout = text
		case "OPTION":
			shown.Options = append(shown.Options, text)
		}
		switch cmd {
		case "GETPIN", "CONFIRM":
			shown.Asked = cmd
			if cfg, err = load(path); err != nil {
				fmt.Fprintln(os.Stderr, "fake pinentry:", err)
				return 2
			}
			record(cfg.Record, &shown) // visible to the test while we wait
			shown = Shown{Asked: "(recorded)"}
			time.Sleep(cfg.Behaviour.Delay)
			switch cfg.Behaviour.Action {
			case "pin":
				if cmd == "GETPIN" {
					say("D " + escape(cfg.Behaviour.PIN))
				}
				say("OK")
			case "cancel":
				say("ERR 83886179 Operation cancelled <Pinentry>")
			case "timeout":
				say("ERR 83886142 Timeout <Pinentry>")
			case "hang":
				time.Sleep(time.Hour)
			case "garbage":
				say("WHAT\x00")
			case "too_small": // pinentry-curses in a terminal too small for the dialog
				say("ERR 83886381 Window too small <Pinentry>")
			default:
				say("ERR 83886179 unknown fake action")
			}
		case "BYE":
			say("OK closing connection")
			return 0
		default:
			say("OK")
		}
	}
	return 0
}

func record(path string, s *Shown) {
	if path == "" || s.Asked == "(recorded)" || s.Asked == "" && len(s.Commands) == 0 {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	data, _ := json.Marshal(s)
	f.Write(append(data, '\n'))
}

func unescape(s string) string {
	u, err := url.PathUnescape(strings.ReplaceAll(s, "+", "%2B"))
	if err != nil {
		return s
	}
	return u
}

func escape(s string) string {
	r := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	return r.Replace(s)
}
