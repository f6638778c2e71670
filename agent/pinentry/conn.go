package pinentry

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// conn is one Assuan conversation with a pinentry process.
type conn struct {
	w io.Writer
	r *lineReader
}

// assuanError is an ERR answer to a command.
type assuanError struct {
	code uint32
	desc string
}

func (e *assuanError) Error() string {
	return fmt.Sprintf("pinentry answered ERR %d %s", e.code, e.desc)
}

func isAssuanErr(err error) bool {
	var ae *assuanError
	return errors.As(err, &ae)
}

// line formats one command line, escaping and shortening its argument to
// the Assuan line limit.
func line(cmd, arg string) string {
	l := cmd
	if arg != "" {
		l += " " + fit(escape(arg), MaxLine-len(cmd)-1)
	}
	return l + "\n"
}

// send writes one command line.
func (c *conn) send(cmd, arg string) error {
	return c.sendAll([][2]string{{cmd, arg}})
}

// sendAll writes command lines in one write.
func (c *conn) sendAll(cmds [][2]string) error {
	var b strings.Builder
	for _, kv := range cmds {
		b.WriteString(line(kv[0], kv[1]))
	}
	if _, err := io.WriteString(c.w, b.String()); err != nil {
		return fmt.Errorf("failed to write to pinentry: %w", err)
	}
	return nil
}

// command sends a command and waits for its OK.
func (c *conn) command(cmd, arg string) error {
	if err := c.send(cmd, arg); err != nil {
		return err
	}
	return c.expectOK()
}

// expectOK reads lines up to OK or ERR, skipping status and comments.
// Data lines are refused: only GETPIN may send data.
func (c *conn) expectOK() error {
	for {
		line, err := c.r.next()
		if err != nil {
			return fmt.Errorf("failed to read from pinentry: %w", err)
		}
		resp, err := parseResponse(line)
		if err != nil {
			return err
		}
		switch resp.kind {
		case 'O':
			return nil
		case 'E':
			return &assuanError{code: resp.code, desc: string(truncate(resp.text, 80))}
		case 'D', 'I':
			return errors.New("pinentry sent data or an inquiry where none was expected")
		}
	}
}

// getPIN sends GETPIN and collects the data lines up to OK. The returned
// PIN is a fresh slice the caller wipes.
func (c *conn) getPIN() ([]byte, error) {
	if err := c.send("GETPIN", ""); err != nil {
		return nil, err
	}
	pin := make([]byte, 0, 256)
	fail := func(err error) ([]byte, error) {
		clear(pin[:cap(pin)])
		return nil, err
	}
	for {
		line, err := c.r.next()
		if err != nil {
			return fail(fmt.Errorf("failed to read from pinentry: %w", err))
		}
		resp, err := parseResponse(line)
		if err != nil {
			clear(line)
			return fail(err)
		}
		switch resp.kind {
		case 'D':
			if len(pin)+len(resp.text) > 256 {
				clear(line)
				return fail(errors.New("pinentry sent a PIN longer than 256 bytes"))
			}
			// Appending within the fixed capacity never reallocates,
			// so no copy of the PIN is left behind.
			pin, err = unescapeInto(pin, resp.text)
			clear(line)
			if err != nil {
				return fail(fmt.Errorf("pinentry sent a malformed PIN: %w", err))
			}
		case 'O':
			return pin, nil
		case 'E':
			return fail(mapError(resp.code))
		case 'I':
			return fail(errors.New("pinentry sent an inquiry"))
		}
	}
}

// confirm sends CONFIRM and maps the answer.
func (c *conn) confirm() error {
	err := c.command("CONFIRM", "")
	var ae *assuanError
	if errors.As(err, &ae) {
		return mapError(ae.code)
	}
	return err
}

func mapError(code uint32) error {
	switch code {
	case errCanceled, errNotConfirmed, errFullyCancel:
		return ErrCancelled
	case errTimeout:
		return ErrTimeout
	case errWindowTooSmall, errMissingEnvvar:
		return ErrNoRoom
	}
	return &assuanError{code: code}
}
