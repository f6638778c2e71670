// Package nativemsg speaks the browsers' native-messaging framing — each
// message a 32-bit length in the machine's byte order, then that many
// bytes of UTF-8 JSON — and the relay messages that the tte-agent browser
// extension and its native host (`tte-agent native-host`) exchange over
// it. The host turns them into the agent's own protocol on the local
// channel: text messages are JSON-RPC, binary ones the upload frames.
package nativemsg

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Bounds of one message. Browsers send a host at most 64 MiB and take at
// most 1 MB from it; the host takes no more than an upload frame needs.
const (
	// MaxFromBrowser bounds a message the host reads: a binary frame of
	// the agent's largest (4 MiB) in base64, with room for the envelope.
	MaxFromBrowser = 6 << 20
	// MaxToBrowser is the browsers' cap on a message from the host.
	MaxToBrowser = 1 << 20
)

// Errors a reader branches on.
var (
	// ErrTooLarge means a message over the bound; the stream is then
	// unusable (its bytes are not read).
	ErrTooLarge = errors.New("native message too large")
	// ErrInvalid means a message that is not a relay message.
	ErrInvalid = errors.New("invalid native message")
)

// Message is one relay message. From the extension: Origin first (the
// page's origin as the browser's sender information says, set by the
// extension's service worker, never by the page), then Text or Binary.
// From the host: Open once the agent took the connection, then Text, or
// Part pieces of a text message over MaxToBrowser (More on every piece
// but the last), and Closed last.
type Message struct {
	Origin string `json:"origin,omitempty"`
	Text   string `json:"text,omitempty"`
	Binary []byte `json:"binary,omitempty"` // base64 in JSON
	Part   string `json:"part,omitempty"`
	More   bool   `json:"more,omitempty"`
	// Open is the host's first message once the agent took the
	// connection; Closed its last.
	Open   bool    `json:"open,omitempty"`
	Closed *Closed `json:"closed,omitempty"`
}

// Closed says why the channel ended, as a WebSocket close would.
type Closed struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// ReadRaw reads one framed message of at most max bytes.
func ReadRaw(r io.Reader, max int) ([]byte, error) {
	var n uint32
	if err := binary.Read(r, binary.NativeEndian, &n); err != nil {
		return nil, err // io.EOF: the browser closed the port
	}
	if int64(n) > int64(max) {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, n, max)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("%w: cut short: %w", ErrInvalid, err)
	}
	return buf, nil
}

// Read reads one relay message from the extension.
func Read(r io.Reader) (Message, error) {
	raw, err := ReadRaw(r, MaxFromBrowser)
	if err != nil {
		return Message{}, err
	}
	return Decode(raw)
}

// Decode checks one relay message from the extension: valid JSON, an
// object with exactly one of origin, text and binary, text valid UTF-8.
func Decode(raw []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	set := 0
	if m.Origin != "" {
		set++
	}
	if m.Text != "" {
		set++
	}
	if m.Binary != nil {
		set++
	}
	if set != 1 || m.Part != "" || m.More || m.Open || m.Closed != nil {
		return Message{}, fmt.Errorf("%w: one of origin, text and binary, and nothing else", ErrInvalid)
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Origin) {
		return Message{}, fmt.Errorf("%w: not UTF-8", ErrInvalid)
	}
	return m, nil
}

// Write writes one message to the browser; it must encode within
// MaxToBrowser (WriteText splits text that does not).
func Write(w io.Writer, m Message) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(raw) > MaxToBrowser {
		return fmt.Errorf("%w: %d bytes to the browser, at most %d", ErrTooLarge, len(raw), MaxToBrowser)
	}
	var n [4]byte
	binary.NativeEndian.PutUint32(n[:], uint32(len(raw)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	_, err = w.Write(raw)
	return err
}

// partBytes is how much text one Part carries: JSON escaping can at most
// sextuple a byte (\u00XX), so a piece of this size encodes within
// MaxToBrowser whatever it holds.
const partBytes = (MaxToBrowser - 64) / 6

// WriteText writes a text message, in Part pieces when it is too large
// for one message. Pieces split at rune boundaries.
func WriteText(w io.Writer, text string) error {
	if len(text) <= partBytes {
		return Write(w, Message{Text: text})
	}
	for len(text) > 0 {
		n := min(partBytes, len(text))
		for n < len(text) && !utf8.RuneStart(text[n]) {
			n--
		}
		if err := Write(w, Message{Part: text[:n], More: n < len(text)}); err != nil {
			return err
		}
		text = text[n:]
	}
	return nil
}
