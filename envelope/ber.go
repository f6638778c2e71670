package envelope

import (
	"bufio"
	"errors"
	"io"
)

// A reader of BER as envelopes come: DER from this package and most
// programs, and the indefinite lengths and chunked content of streaming
// writers (`openssl cms -stream`, mail programs). It reads in order,
// through a buffer, so that an envelope of any size is walked once with
// little memory; only the small elements a caller asks for are held.

// maxDepth bounds the nesting an element skipped whole may have.
const maxDepth = 32

// header is one element's identifier and length.
type header struct {
	class       int
	tag         int
	constructed bool
	// raw is the header's bytes; length is the content's, -1 indefinite.
	raw    []byte
	length int64
}

func (h header) is(class, tag int, constructed bool) bool {
	return h.class == class && h.tag == tag && h.constructed == constructed
}

// cursor reads elements in order from [start, end) of a source.
type cursor struct {
	src io.ReaderAt
	r   *bufio.Reader
	pos int64
	end int64
}

func newCursor(src io.ReaderAt, start, end int64) *cursor {
	return &cursor{src: src, r: bufio.NewReaderSize(io.NewSectionReader(src, start, end-start), 64<<10), pos: start, end: end}
}

var errTruncated = errors.New("truncated")

func (c *cursor) byte() (byte, error) {
	if c.pos >= c.end {
		return 0, errTruncated
	}
	b, err := c.r.ReadByte()
	if err != nil {
		return 0, errTruncated
	}
	c.pos++
	return b, nil
}

// header reads the next element's header. A definite length must fit in
// what is left of the source.
func (c *cursor) header() (header, error) {
	var h header
	b, err := c.byte()
	if err != nil {
		return h, err
	}
	h.raw = append(h.raw, b)
	h.class, h.constructed, h.tag = int(b>>6), b&0x20 != 0, int(b&0x1f)
	if h.tag == 0x1f {
		return h, invalid("a high tag number, which no envelope uses")
	}
	if b, err = c.byte(); err != nil {
		return h, err
	}
	h.raw = append(h.raw, b)
	switch {
	case b < 0x80:
		h.length = int64(b)
	case b == 0x80:
		if !h.constructed {
			return h, invalid("an indefinite length on a primitive element")
		}
		h.length = -1
	default:
		n := int(b & 0x7f)
		if n > 7 {
			return h, invalid("a length of %d bytes", n)
		}
		for range n {
			if b, err = c.byte(); err != nil {
				return h, err
			}
			h.raw = append(h.raw, b)
			h.length = h.length<<8 | int64(b)
		}
	}
	if h.length > c.end-c.pos {
		return h, errTruncated
	}
	return h, nil
}

// read returns the next n bytes.
func (c *cursor) read(n int64) ([]byte, error) {
	if n > c.end-c.pos {
		return nil, errTruncated
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		return nil, errTruncated
	}
	c.pos += n
	return b, nil
}

// readFull reads into p.
func (c *cursor) readFull(p []byte) error {
	if int64(len(p)) > c.end-c.pos {
		return errTruncated
	}
	if _, err := io.ReadFull(c.r, p); err != nil {
		return errTruncated
	}
	c.pos += int64(len(p))
	return nil
}

// skip passes n bytes: within the buffer, or by starting to read again
// after them, so that a large content is passed without being read.
func (c *cursor) skip(n int64) error {
	if n > c.end-c.pos {
		return errTruncated
	}
	if n <= int64(c.r.Buffered()) {
		c.r.Discard(int(n))
	} else {
		c.r.Reset(io.NewSectionReader(c.src, c.pos+n, c.end-c.pos-n))
	}
	c.pos += n
	return nil
}

// element reads a definite-length element whole (header and content) of
// at most limit bytes: what encoding/asn1 then decodes.
func (c *cursor) element(limit int64, what string) (header, []byte, error) {
	h, err := c.header()
	if err != nil {
		return h, nil, err
	}
	if h.length < 0 {
		return h, nil, invalid("%s with an indefinite length", what)
	}
	if h.length > limit {
		return h, nil, invalid("%s of %d bytes, at most %d", what, h.length, limit)
	}
	body, err := c.read(h.length)
	if err != nil {
		return h, nil, err
	}
	return h, append(h.raw, body...), nil
}

// skipContent skips the content of an element whose header was read.
func (c *cursor) skipContent(h header, depth int) error {
	if h.length >= 0 {
		return c.skip(h.length)
	}
	if depth > maxDepth {
		return invalid("nested deeper than %d", maxDepth)
	}
	for {
		in, err := c.header()
		if err != nil {
			return err
		}
		if in.class == 0 && in.tag == 0 && !in.constructed && in.length == 0 {
			return nil // end of contents
		}
		if err := c.skipContent(in, depth+1); err != nil {
			return err
		}
	}
}

// container is an open constructed element: its end, or indefinite.
type container struct {
	indefinite bool
	end        int64
}

// open reads a constructed element's header.
func (c *cursor) open(class, tag int, what string) (container, error) {
	h, err := c.header()
	if err != nil {
		return container{}, err
	}
	if !h.is(class, tag, true) {
		return container{}, invalid("%s expected", what)
	}
	return c.opened(h), nil
}

func (c *cursor) opened(h header) container {
	if h.length < 0 {
		return container{indefinite: true}
	}
	return container{end: c.pos + h.length}
}

// more reports whether the container has another element.
func (c *cursor) more(k container) (bool, error) {
	if !k.indefinite {
		return c.pos < k.end, nil
	}
	b, err := c.r.Peek(2)
	if err != nil || c.end-c.pos < 2 {
		return false, errTruncated
	}
	return b[0] != 0 || b[1] != 0, nil
}

// close ends the container: exactly at its end, or at end-of-contents.
func (c *cursor) close(k container, what string) error {
	if !k.indefinite {
		if c.pos != k.end {
			return invalid("%s has more than it should", what)
		}
		return nil
	}
	h, err := c.header()
	if err != nil {
		return err
	}
	if h.class != 0 || h.tag != 0 || h.constructed || h.length != 0 {
		return invalid("%s has more than it should", what)
	}
	return nil
}

// peekHeader reports the class, tag and form of the next element without
// reading it.
func (c *cursor) peek() (class, tag int, constructed bool, err error) {
	b, err := c.r.Peek(1)
	if err != nil || c.pos >= c.end {
		return 0, 0, false, errTruncated
	}
	return int(b[0] >> 6), int(b[0] & 0x1f), b[0]&0x20 != 0, nil
}
