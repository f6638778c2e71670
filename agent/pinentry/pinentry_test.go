package pinentry_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent/pinentry"
	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
)

func TestMain(m *testing.M) {
	pinentrytest.RunIfFake()
	os.Exit(m.Run())
}

func program(f *pinentrytest.Fake, timeout time.Duration) *pinentry.Program {
	return &pinentry.Program{Path: f.Program, Timeout: timeout, TTYName: "/dev/pts/9", LCCType: "C.UTF-8"}
}

func TestGetPIN(t *testing.T) {
	f := pinentrytest.Install(t, pinentrytest.Behaviour{Action: "pin", PIN: "12%34\nx"})
	d := pinentry.Dialog{
		Title:       "Tanda tangan",
		Description: "Asal: https://eoffice.example.go.id\n100% benar\nGETPIN",
		Prompt:      "PIN:",
		Error:       "Sisa 1 kali",
		OK:          "Tanda tangani",
		Cancel:      "Batal",
	}
	pin, err := program(f, 5*time.Second).GetPIN(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if string(pin) != "12%34\nx" {
		t.Errorf("PIN = %q, want the escaped PIN decoded", pin)
	}
	shown := f.Shown(t)
	if len(shown) != 1 {
		t.Fatalf("%d dialogs shown, want 1", len(shown))
	}
	s := shown[0]
	if s.Title != d.Title || s.Desc != d.Description || s.Prompt != d.Prompt || s.Error != d.Error || s.OK != d.OK || s.Cancel != d.Cancel {
		t.Errorf("shown %+v, want %+v", s, d)
	}
	if s.Asked != "GETPIN" || s.KeyInfo != "--clear" || s.Timeout != "5" {
		t.Errorf("asked %q keyinfo %q timeout %q", s.Asked, s.KeyInfo, s.Timeout)
	}
	if strings.Join(s.Options, ",") != "ttyname=/dev/pts/9,lc-ctype=C.UTF-8" {
		t.Errorf("options = %v", s.Options)
	}
	// The description's line breaks and percent sign travel escaped, so
	// "GETPIN" on its own line never becomes a command.
	for _, l := range s.RawLines {
		if strings.HasPrefix(l, "SETDESC ") && !strings.Contains(l, "%0AGETPIN") {
			t.Errorf("SETDESC line not escaped: %q", l)
		}
	}
	if n := strings.Count(strings.Join(s.Commands, " "), "GETPIN"); n != 1 {
		t.Errorf("GETPIN sent %d times, want once: %v", n, s.Commands)
	}
}

func TestDialogOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		b       pinentrytest.Behaviour
		confirm bool
		want    error
	}{
		{"cancel", pinentrytest.Behaviour{Action: "cancel"}, false, pinentry.ErrCancelled},
		{"cancel confirm", pinentrytest.Behaviour{Action: "cancel"}, true, pinentry.ErrCancelled},
		{"pinentry timeout", pinentrytest.Behaviour{Action: "timeout"}, false, pinentry.ErrTimeout},
		{"hang", pinentrytest.Behaviour{Action: "hang"}, false, pinentry.ErrTimeout},
		{"confirm ok", pinentrytest.Behaviour{Action: "pin"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := pinentrytest.Install(t, tt.b)
			p := program(f, 1500*time.Millisecond)
			var err error
			if tt.confirm {
				err = p.Confirm(context.Background(), pinentry.Dialog{Description: "ok?"})
			} else {
				var pin []byte
				pin, err = p.GetPIN(context.Background(), pinentry.Dialog{Description: "PIN?"})
				if err != nil && pin != nil {
					t.Errorf("a PIN came back with error %v", err)
				}
			}
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestGarbageAndMissingProgram(t *testing.T) {
	f := pinentrytest.Install(t, pinentrytest.Behaviour{Action: "garbage"})
	_, err := program(f, 2*time.Second).GetPIN(context.Background(), pinentry.Dialog{})
	if err == nil || errors.Is(err, pinentry.ErrCancelled) || errors.Is(err, pinentry.ErrTimeout) {
		t.Errorf("garbage answer: err = %v, want a protocol error", err)
	}
	p := &pinentry.Program{Path: "/nonexistent/pinentry", Timeout: time.Second}
	if _, err := p.GetPIN(context.Background(), pinentry.Dialog{}); err == nil || !strings.Contains(err.Error(), "pinentry") {
		t.Errorf("missing program: err = %v", err)
	}
}

func TestLongDescriptionFitsTheAssuanLine(t *testing.T) {
	f := pinentrytest.Install(t, pinentrytest.Behaviour{Action: "pin", PIN: "1"})
	long := strings.Repeat("é%\n", 2000)
	if _, err := program(f, 5*time.Second).GetPIN(context.Background(), pinentry.Dialog{Description: long}); err != nil {
		t.Fatal(err)
	}
	for _, l := range f.Shown(t)[0].RawLines {
		if len(l) > pinentry.MaxLine {
			t.Errorf("line of %d bytes exceeds the Assuan limit", len(l))
		}
	}
	if d := f.Shown(t)[0].Desc; !strings.HasSuffix(d, "...") || !strings.HasPrefix(d, "é%\né%\n") {
		t.Errorf("shortened description = %q...", d[:20])
	}
}

func TestContextCancel(t *testing.T) {
	f := pinentrytest.Install(t, pinentrytest.Behaviour{Action: "hang"})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err := program(f, time.Minute).GetPIN(ctx, pinentry.Dialog{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("cancel took %v", time.Since(start))
	}
}

// TestWarm: a warmed-up pinentry serves the next dialog, and a second
// Warm while one waits starts nothing more.
func TestWarm(t *testing.T) {
	f := pinentrytest.Install(t, pinentrytest.Behaviour{Action: "pin", PIN: "4321"})
	p := program(f, 5*time.Second)
	p.Warm()
	p.Warm()
	time.Sleep(200 * time.Millisecond)
	for range 2 {
		pin, err := p.GetPIN(context.Background(), pinentry.Dialog{Description: "x"})
		if err != nil || string(pin) != "4321" {
			t.Fatalf("GetPIN after Warm = %q, %v", pin, err)
		}
	}
	if n := len(f.Shown(t)); n != 2 {
		t.Errorf("%d dialogs shown, want 2", n)
	}
}
