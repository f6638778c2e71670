package pinentry

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoRoom means the dialog does not fit on the screen it would be drawn
// on (pinentry-curses answers GPG_ERR_WINDOW_TOO_SMALL), or could not be
// drawn at all (no terminal, no display).
var ErrNoRoom = errors.New("the PIN dialog cannot be shown: the screen is too small or missing")

// GnuPG error codes of a dialog that cannot be drawn.
const (
	errWindowTooSmall = 301
	errMissingEnvvar  = 303
)

// Screen is where a dialog is drawn: a terminal's size in character cells,
// or for a window dialog the lines and columns it shows comfortably.
type Screen struct {
	Rows, Cols int
	// Terminal is a pinentry drawing in a terminal (curses, tty).
	Terminal bool
}

// windowScreen is what a graphical pinentry's window shows without
// growing past a 768-pixel-high screen.
var windowScreen = Screen{Rows: 34, Cols: 90}

// Screen says where the program's next dialog is drawn: the terminal's
// size for a terminal pinentry (pinentry-curses, or a graphical one with
// no display to use, which falls back to curses), else a window's.
func (p *Program) Screen() Screen {
	if !p.terminal() {
		return windowScreen
	}
	rows, cols := ttySize(p.TTYName)
	if rows <= 0 || cols <= 0 {
		rows, cols = 24, 80 // what pinentry-curses assumes of an unknown terminal
	}
	return Screen{Rows: rows, Cols: cols, Terminal: true}
}

// terminal says whether the dialog is drawn in a terminal.
func (p *Program) terminal() bool {
	if TerminalOnly(p.Path) {
		return true
	}
	// A graphical pinentry without a display falls back to curses.
	return p.TTYName != "" && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == ""
}

// TerminalOnly says whether the pinentry program at path (looked up in
// PATH, through Debian's alternatives symlinks) draws only in a terminal.
func TerminalOnly(path string) bool {
	if p, err := exec.LookPath(path); err == nil {
		path = p
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	base := filepath.Base(path)
	return strings.Contains(base, "curses") || strings.HasSuffix(base, "-tty")
}
