package pinentry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxLine is the longest Assuan line, newline excluded (libassuan's
// ASSUAN_LINELENGTH is 1002 with CR LF).
const MaxLine = 1000

// escape percent-escapes s for an Assuan command argument: %, CR, LF and
// every other control byte become %XX so that text can never end the line
// and start a new command.
func escape(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c < 0x20 || c == 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// fit shortens an escaped argument to at most n bytes without cutting a
// %XX escape or a UTF-8 sequence, marking the cut with "...".
func fit(esc string, n int) string {
	if len(esc) <= n {
		return esc
	}
	cut := n - 3
	for cut > 0 {
		c := esc[cut]
		// Never end inside %XX, never split a multi-byte rune.
		if (cut >= 1 && esc[cut-1] == '%') || (cut >= 2 && esc[cut-2] == '%') || c&0xC0 == 0x80 {
			cut--
			continue
		}
		break
	}
	return esc[:cut] + "..."
}

// unescapeInto appends the percent-decoded data to dst.
func unescapeInto(dst, data []byte) ([]byte, error) {
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c != '%' {
			dst = append(dst, c)
			continue
		}
		if i+2 >= len(data) {
			return dst, errors.New("truncated percent escape")
		}
		v, err := strconv.ParseUint(string(data[i+1:i+3]), 16, 8)
		if err != nil {
			return dst, errors.New("bad percent escape")
		}
		dst = append(dst, byte(v))
		i += 2
	}
	return dst, nil
}

// lineReader reads Assuan lines into a buffer it owns, so that a PIN that
// passes through it can be wiped (bufio.Reader's buffer could not be).
type lineReader struct {
	r   io.Reader
	buf [2 * (MaxLine + 2)]byte
	off int // start of unread data
	n   int // end of unread data
}

// next returns the next line without its newline (and CR), valid until the
// following call. A line over MaxLine bytes is an error.
func (lr *lineReader) next() ([]byte, error) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.off:lr.n], '\n'); i >= 0 {
			line := lr.buf[lr.off : lr.off+i]
			lr.off += i + 1
			return bytes.TrimSuffix(line, []byte{'\r'}), nil
		}
		if lr.n-lr.off > MaxLine+1 {
			return nil, errors.New("pinentry sent a line longer than the Assuan limit")
		}
		if lr.off > 0 {
			copy(lr.buf[:], lr.buf[lr.off:lr.n])
			clear(lr.buf[lr.n-lr.off : lr.n])
			lr.n -= lr.off
			lr.off = 0
		}
		m, err := lr.r.Read(lr.buf[lr.n:])
		lr.n += m
		if m == 0 && err != nil {
			if err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// wipe clears everything the reader has held.
func (lr *lineReader) wipe() { clear(lr.buf[:]) }

// Response is one server line of an Assuan exchange, classified.
type response struct {
	kind byte   // 'O' OK, 'E' ERR, 'D' data, 'S' status, '#' comment, 'I' inquire
	code uint32 // ERR code, gpg-error code part only
	text []byte // rest of the line
}

// parseResponse classifies one line a pinentry sent.
func parseResponse(line []byte) (response, error) {
	word, rest, _ := bytes.Cut(line, []byte{' '})
	switch string(word) {
	case "OK":
		return response{kind: 'O', text: rest}, nil
	case "D":
		return response{kind: 'D', text: rest}, nil
	case "S":
		return response{kind: 'S', text: rest}, nil
	case "INQUIRE":
		return response{kind: 'I', text: rest}, nil
	case "ERR":
		num, desc, _ := bytes.Cut(rest, []byte{' '})
		n, err := strconv.ParseUint(string(num), 10, 32)
		if err != nil {
			return response{}, fmt.Errorf("pinentry sent a malformed ERR line")
		}
		// A gpg-error value carries its source in the high bits; the
		// code is the low 16.
		return response{kind: 'E', code: uint32(n) & 0xffff, text: desc}, nil
	}
	if len(line) > 0 && line[0] == '#' {
		return response{kind: '#'}, nil
	}
	return response{}, fmt.Errorf("pinentry sent an unexpected line starting %q", truncate(line, 16))
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// gpg-error codes a pinentry answers with.
const (
	errTimeout      = 62
	errCanceled     = 99
	errNotConfirmed = 114
	errFullyCancel  = 198
)

// EscapedLen returns how many bytes s takes on an Assuan line once
// escaped, so callers can keep a dialog's text within MaxLine.
func EscapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '%' || c < 0x20 || c == 0x7f {
			n += 2
		}
	}
	return n
}
