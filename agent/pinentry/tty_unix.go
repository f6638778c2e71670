//go:build linux

package pinentry

import (
	"os"

	"golang.org/x/sys/unix"
)

// ttySize returns the rows and columns of the terminal at name.
func ttySize(name string) (rows, cols int) {
	if name == "" {
		return 0, 0
	}
	f, err := os.OpenFile(name, os.O_RDONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0, 0
	}
	return int(ws.Row), int(ws.Col)
}

// quiet turns echo off on the terminal at name until restore, so that
// keys typed before the terminal dialog has drawn (a PIN typed too early)
// are not shown in clear there; flush discards them, so that they do not
// land in the PIN field either. pinentry-curses switches echo off itself,
// but only once it draws; before that the terminal still echoes.
func quiet(name string) (flush, restore func()) {
	none := func() {}
	f, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return none, none
	}
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		f.Close()
		return none, none
	}
	t := *old
	t.Lflag &^= unix.ECHO | unix.ECHONL
	_ = unix.IoctlSetTermios(fd, unix.TCSETS, &t)
	flush = func() { _ = unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH) }
	restore = func() {
		// Keys typed into the dialog's last moments are not the
		// shell's to read.
		flush()
		_ = unix.IoctlSetTermios(fd, unix.TCSETS, old)
		f.Close()
	}
	return flush, restore
}
