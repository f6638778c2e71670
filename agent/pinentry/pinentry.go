// Package pinentry asks the user for a PIN or a confirmation through a
// GnuPG pinentry program (pinentry-curses, -gtk, -qt, -gnome3, ...), speaking
// the Assuan protocol on its standard input and output. Every dialog runs a
// fresh pinentry process, as gpg-agent does.
package pinentry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Sentinel errors of a dialog.
var (
	// ErrCancelled means the user closed or cancelled the dialog.
	ErrCancelled = errors.New("the user cancelled the dialog")
	// ErrTimeout means nobody answered the dialog in time.
	ErrTimeout = errors.New("nobody answered the dialog in time")
)

// Dialog is the text of one dialog. Fields are plain text; line breaks in
// Description are kept, other control characters are escaped.
type Dialog struct {
	Title       string
	Description string
	Prompt      string
	// Error is shown prominently, e.g. a warning about PIN tries left.
	Error  string
	OK     string
	Cancel string
}

// Program runs one pinentry program.
type Program struct {
	// Path is the program, looked up in PATH if it has no slash.
	Path string
	// Timeout bounds how long the dialog may stay open.
	Timeout time.Duration
	// TTYName and TTYType tell a terminal pinentry where to draw; empty
	// values are not sent.
	TTYName string
	TTYType string
	// LCCType is sent as OPTION lc-ctype so the pinentry reads UTF-8.
	LCCType string
	Log     *slog.Logger

	mu         sync.Mutex
	spare      *proc // started by Warm, waiting for its dialog
	spareTimer *time.Timer
	warming    bool // a Warm spawn is under way
	closed     bool
	wg         sync.WaitGroup // background spawns and reaps
}

// Close ends a warmed-up pinentry and waits for background work; dialogs
// still open keep running until they end.
func (p *Program) Close() {
	p.mu.Lock()
	p.closed = true
	pr := p.spare
	p.spare = nil
	if p.spareTimer != nil {
		p.spareTimer.Stop()
	}
	p.mu.Unlock()
	if pr != nil {
		p.kill(pr)
	}
	p.wg.Wait()
}

// proc is a started pinentry process.
type proc struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     io.ReadCloser
	started time.Time
}

// spareLife is how long a warmed-up pinentry waits for its dialog.
const spareLife = 10 * time.Second

func (p *Program) spawn() (*proc, error) {
	cmd := exec.Command(p.Path)
	cmd.Stderr = io.Discard
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start the pinentry program %q: %w (install pinentry-curses or pinentry-gnome3, or set [pinentry] program)", p.Path, err)
	}
	return &proc{cmd: cmd, in: in, out: out, started: time.Now()}, nil
}

// kill ends an unused process.
func (p *Program) kill(pr *proc) {
	_ = pr.cmd.Process.Kill()
	_ = pr.in.Close()
	p.reap(pr.cmd)
}

// Warm starts the program in the background ahead of a dialog that is
// likely to follow, so that its start-up overlaps the caller's other work;
// the next GetPIN or Confirm uses it. A pinentry shows nothing until it is
// asked, and an unused one is ended after a few seconds.
func (p *Program) Warm() {
	p.mu.Lock()
	// At most one spare and one spawn at a time, however many requests
	// arrive at once.
	busy := p.spare != nil || p.closed || p.warming
	if !busy {
		p.warming = true
		p.wg.Add(1)
	}
	p.mu.Unlock()
	if busy {
		return
	}
	go func() {
		defer p.wg.Done()
		pr, err := p.spawn()
		p.mu.Lock()
		p.warming = false
		p.mu.Unlock()
		if err != nil {
			return // GetPIN will report it
		}
		p.mu.Lock()
		if p.spare != nil || p.closed {
			p.mu.Unlock()
			p.kill(pr)
			return
		}
		p.spare = pr
		p.spareTimer = time.AfterFunc(spareLife, func() {
			p.mu.Lock()
			stale := p.spare == pr
			if stale {
				p.spare = nil
			}
			p.mu.Unlock()
			if stale {
				p.kill(pr)
			}
		})
		p.mu.Unlock()
	}()
}

// take returns the warmed-up process if there is one, else a new one.
func (p *Program) take() (*proc, error) {
	p.mu.Lock()
	pr := p.spare
	p.spare = nil
	p.mu.Unlock()
	if pr != nil && time.Since(pr.started) < spareLife {
		return pr, nil
	}
	if pr != nil {
		p.kill(pr)
	}
	return p.spawn()
}

// GetPIN shows the dialog and returns the PIN the user typed. The caller
// owns the returned slice and must clear it after use. It returns
// ErrCancelled, ErrTimeout, or an error saying why the program failed.
func (p *Program) GetPIN(ctx context.Context, d Dialog) ([]byte, error) {
	var pin []byte
	err := p.run(ctx, d, func(c *conn) error {
		var err error
		pin, err = c.getPIN()
		return err
	})
	return pin, err
}

// Confirm shows the dialog with OK and Cancel buttons and returns nil if
// the user chose OK. It is the consent of a token with a PIN pad.
func (p *Program) Confirm(ctx context.Context, d Dialog) error {
	return p.run(ctx, d, func(c *conn) error { return c.confirm() })
}

func (p *Program) run(ctx context.Context, d Dialog, ask func(*conn) error) error {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 120 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	flush := func() {}
	if p.TTYName != "" && p.terminal() {
		var restore func()
		flush, restore = quiet(p.TTYName)
		defer restore()
	}
	pr, err := p.take()
	if err != nil {
		return err
	}
	cmd, in, out := pr.cmd, pr.in, pr.out
	c := &conn{w: in, r: &lineReader{r: out}}
	defer c.r.wipe()
	errc := make(chan error, 1)
	go func() {
		errc <- p.converse(c, d, timeout, func(c *conn) error {
			flush() // keys typed before the dialog are not the PIN
			return ask(c)
		})
	}()
	select {
	case err = <-errc:
	case <-ctx.Done():
		// Kill the dialog and close our ends too, in case a child of
		// the pinentry still holds its stdout open.
		_ = cmd.Process.Kill()
		_ = out.Close()
		_ = in.Close()
		err = <-errc
	}
	_ = in.Close()
	if err == nil && ctx.Err() == nil {
		// The answer is in; the process exits after BYE on its own time,
		// off the request's path.
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.reap(cmd)
		}()
		return nil
	}
	p.reap(cmd)
	switch {
	case ctx.Err() == context.DeadlineExceeded && !errors.Is(err, ErrCancelled):
		return ErrTimeout
	case ctx.Err() != nil && !errors.Is(err, ErrCancelled) && !errors.Is(err, ErrTimeout):
		return ctx.Err()
	}
	return err
}

// reap waits for the pinentry to exit, killing it if it lingers.
func (p *Program) reap(cmd *exec.Cmd) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil && p.Log != nil {
			p.Log.Debug("pinentry exited with an error", "err", err)
		}
	case <-time.After(2 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (p *Program) converse(c *conn, d Dialog, timeout time.Duration, ask func(*conn) error) error {
	var cmds [][2]string
	for _, o := range []struct{ name, value string }{
		{"ttyname", p.TTYName}, {"ttytype", p.TTYType}, {"lc-ctype", p.LCCType},
	} {
		if o.value != "" {
			cmds = append(cmds, [2]string{"OPTION", o.name + "=" + o.value})
		}
	}
	secs := int((timeout + time.Second - 1) / time.Second)
	for _, kv := range [][2]string{
		{"SETTIMEOUT", fmt.Sprint(secs)},
		// No key info: a pinentry then never offers to store the PIN in
		// a password manager.
		{"SETKEYINFO", "--clear"},
		{"SETTITLE", d.Title},
		{"SETDESC", d.Description},
		{"SETPROMPT", d.Prompt},
		{"SETOK", d.OK},
		{"SETCANCEL", d.Cancel},
		{"SETERROR", d.Error},
	} {
		if kv[1] != "" {
			cmds = append(cmds, kv)
		}
	}
	// The setup commands go in one write and their answers are read
	// after: Assuan servers read line by line, so pipelining is safe, and
	// it saves a round trip per command (docs/performance.md).
	if err := c.sendAll(cmds); err != nil {
		return err
	}
	if err := c.expectOK(); err != nil {
		return fmt.Errorf("pinentry did not greet: %w", err)
	}
	for range cmds {
		// Unknown options and commands are answered with ERR; like
		// gpg-agent we go on.
		if err := c.expectOK(); err != nil && !isAssuanErr(err) {
			return err
		}
	}
	err := ask(c)
	_ = c.send("BYE", "")
	return err
}

// TTY returns the terminal on the agent's standard input, or "" if it has
// none; GPG_TTY, the GnuPG convention, takes precedence.
func TTY() string {
	if t := os.Getenv("GPG_TTY"); t != "" {
		return t
	}
	name, err := os.Readlink("/proc/self/fd/0")
	if err != nil || !(strings.HasPrefix(name, "/dev/pts/") || strings.HasPrefix(name, "/dev/tty")) {
		return ""
	}
	return name
}
