package consent_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/pinentry"
	"github.com/tte-agent/tte-agent/internal/testscale"
)

// pane is a tmux pane of a fixed size on a private tmux server, running
// sleep: a terminal nobody reads from, as the agent's own is.
type pane struct {
	t    *testing.T
	sock string
	tty  string
}

func newPane(t *testing.T, cols, rows int) *pane {
	t.Helper()
	for _, tool := range []string{"tmux", "pinentry-curses"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run scripts/install-deps.sh test", tool)
		}
	}
	p := &pane{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	p.tmux("new-session", "-d", "-s", "pin", "-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows), "sleep 600")
	t.Cleanup(func() { exec.Command("tmux", "-S", p.sock, "kill-server").Run() })
	p.tty = strings.TrimSpace(p.tmux("display-message", "-p", "-t", "pin", "#{pane_tty}"))
	return p
}

func (p *pane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (p *pane) screen() string { return p.tmux("capture-pane", "-p", "-t", "pin") }

// waitFor polls the screen until it matches re.
func (p *pane) waitFor(re string) string {
	p.t.Helper()
	deadline := time.Now().Add(testscale.D(20 * time.Second))
	for {
		s := p.screen()
		if regexp.MustCompile(re).MatchString(s) {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the screen never showed %q:\n%s", re, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *pane) keys(keys ...string) { p.tmux(append([]string{"send-keys", "-t", "pin"}, keys...)...) }

// words is the screen's text without the dialog's frame, as one line.
func words(screen string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if strings.ContainsRune("│┌┐└┘─|", r) {
			return ' '
		}
		return r
	}, screen)), " ")
}

// askPIN runs the dialog in the background; the channel gets the PIN, or
// "error: ..." when the dialog failed.
func askPIN(prog *pinentry.Program, d pinentry.Dialog) <-chan string {
	got := make(chan string, 1)
	go func() {
		pin, err := prog.GetPIN(context.Background(), d)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(pin)
	}()
	return got
}

func program(path, tty string) *pinentry.Program {
	return &pinentry.Program{Path: path, TTYName: tty, TTYType: "screen", LCCType: "C.UTF-8", Timeout: testscale.D(60 * time.Second)}
}

// The real pinentry-curses in an 80x24 terminal: a batch of 1,000
// documents at the final PIN try shows the whole dialog, the list
// summarised, the warning whole; the PIN typed there comes back.
func TestCursesDialogFits80x24(t *testing.T) {
	p := newPane(t, 80, 24)
	prog := program("pinentry-curses", p.tty)
	scr := prog.Screen()
	if scr != (pinentry.Screen{Rows: 24, Cols: 80, Terminal: true}) {
		t.Fatalf("Screen() = %+v, want the pane's 24x80 terminal", scr)
	}
	items := make([]string, 1000)
	for i := range items {
		items[i] = fmt.Sprintf("Surat Edaran Nomor %04d Tahun 2026 tentang Penyesuaian Jam Kerja.pdf", i+1)
	}
	req := consent.Request{Origin: "https://eoffice.denpasarkota.go.id", Subject: "Ni Luh Putu Ayu Wijayanti, S.E., M.Ak.",
		Issuer: "BSrE CA DS G1", NotAfter: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), Items: items, TotalBytes: 1000 << 20,
		Reason: "Disetujui", PINStatus: "final_try"}
	d, err := consent.DialogOn("id", req, scr)
	if err != nil {
		t.Fatal(err)
	}
	got := askPIN(prog, d)
	screen := p.waitFor(`<Tanda tangani>`)
	t.Logf("the dialog:\n%s", screen)
	text := words(screen)
	warning := "PERINGATAN: ini percobaan PIN TERAKHIR. Jika PIN salah, token terkunci dan tidak bisa dipakai sampai dibuka oleh admin (PUK)."
	for _, want := range []string{"Situs berikut meminta tanda tangan elektronik Anda: https://eoffice.denpasarkota.go.id",
		"Dokumen yang ditandatangani: 1000", "Alasan: Disetujui", warning, "<Batal>"} {
		if !strings.Contains(text, want) {
			t.Errorf("the screen lacks %q:\n%s", want, screen)
		}
	}
	if !regexp.MustCompile(`dan \d+ lainnya`).MatchString(text) {
		t.Errorf("the list is not summarised (\"dan N lainnya\"):\n%s", screen)
	}
	p.keys("123456", "Enter")
	select {
	case pin := <-got:
		if pin != "123456" {
			t.Errorf("GetPIN = %q, want the PIN typed in the dialog", pin)
		}
	case <-time.After(testscale.D(20 * time.Second)):
		t.Fatal("GetPIN did not return")
	}
}

// Keys typed before a terminal dialog has drawn (a PIN typed too early)
// are not echoed in clear and do not end up in the PIN; the terminal
// echoes again afterwards.
func TestCursesTypeAhead(t *testing.T) {
	p := newPane(t, 100, 30)
	slow := filepath.Join(t.TempDir(), "pinentry-curses-slow")
	real, _ := exec.LookPath("pinentry-curses")
	// A pinentry that takes a second to start, like a loaded machine's.
	os.WriteFile(slow, []byte("#!/bin/sh\nsleep 1\nexec "+real+" \"$@\"\n"), 0o755)
	prog := program(slow, p.tty)
	d, err := consent.DialogOn("id", consent.Request{Origin: "https://eoffice.example.go.id", Subject: "Budi", Items: []string{"a.pdf"}}, prog.Screen())
	if err != nil {
		t.Fatal(err)
	}
	got := askPIN(prog, d)
	time.Sleep(testscale.D(200 * time.Millisecond))
	p.keys("424242")
	time.Sleep(testscale.D(200 * time.Millisecond))
	if s := p.screen(); strings.Contains(s, "424242") && !strings.Contains(s, "<Tanda tangani>") {
		t.Errorf("keys typed before the dialog are echoed in clear:\n%s", s)
	}
	p.waitFor(`<Tanda tangani>`)
	p.keys("123456", "Enter")
	select {
	case pin := <-got:
		if pin != "123456" {
			t.Errorf("GetPIN = %q: keys typed before the dialog reached the PIN", pin)
		}
	case <-time.After(testscale.D(20 * time.Second)):
		t.Fatal("GetPIN did not return")
	}
	p.keys("echo-is-back")
	p.waitFor(`echo-is-back`)
}

// A terminal too small for what must be shown is refused before any
// pinentry starts, with the rows it needs.
func TestDialogNoRoom(t *testing.T) {
	req := consent.Request{Origin: "https://eoffice.example.go.id", Subject: "Budi", Items: []string{"a.pdf"}, PINStatus: "final_try",
		AppearanceText: []string{"Ditandatangani secara elektronik oleh", "Budi Santoso", "Kepala Dinas"}, Reason: "Disetujui"}
	if _, err := consent.DialogOn("id", req, pinentry.Screen{Rows: 12, Cols: 80, Terminal: true}); err == nil || !strings.Contains(err.Error(), "rows") {
		t.Errorf("12 rows: %v", err)
	}
	if _, err := consent.DialogOn("id", req, pinentry.Screen{Rows: 40, Cols: 20, Terminal: true}); err == nil {
		t.Error("20 columns accepted")
	}
	if _, err := consent.DialogOn("id", req, pinentry.Screen{Rows: 30, Cols: 80, Terminal: true}); err != nil {
		t.Errorf("30x80: %v", err)
	}
}
