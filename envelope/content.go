package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
)

// ContentSize is the encrypted content's length in the envelope (the
// plaintext's for GCM, up to a block more for CBC).
func (e *Envelope) ContentSize() int64 { return e.contentLen }

// ciphertext reads the encrypted content from the source, through its
// chunks.
type ciphertext struct {
	c       *cursor
	chunked bool
	left    int64 // in the current chunk
	total   int64 // in all
}

func (e *Envelope) ciphertext() *ciphertext {
	r := &ciphertext{c: newCursor(e.src, e.contentAt, e.size), chunked: e.chunked, total: e.contentLen}
	if !e.chunked {
		r.left = e.contentLen
	}
	return r
}

// skip passes n bytes of the ciphertext, reading only the pieces'
// headers.
func (r *ciphertext) skip(n int64) error {
	for n > 0 {
		for r.left == 0 {
			if err := r.next(); err != nil {
				return err
			}
		}
		k := min(n, r.left)
		if err := r.c.skip(k); err != nil {
			return ErrDecrypt
		}
		r.left -= k
		r.total -= k
		n -= k
	}
	return nil
}

// next reads the next piece's header.
func (r *ciphertext) next() error {
	h, err := r.c.header()
	if err != nil || !h.is(asn1.ClassUniversal, asn1.TagOctetString, false) || h.length > r.total {
		return fmt.Errorf("%w: the envelope changed while it was read", ErrDecrypt)
	}
	r.left = h.length
	return nil
}

func (r *ciphertext) Read(p []byte) (int, error) {
	if r.total == 0 {
		return 0, io.EOF
	}
	for r.left == 0 {
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := int(min(int64(len(p)), r.left))
	if err := r.c.readFull(p[:n]); err != nil {
		return 0, fmt.Errorf("%w: the envelope changed while it was read", ErrDecrypt)
	}
	r.left -= int64(n)
	r.total -= int64(n)
	return n, nil
}

// Content is an envelope's content, opened: Unseal has checked it whole,
// and Reader decrypts it from the envelope as it is read, so that no
// plaintext is stored anywhere.
type Content struct {
	// Size is the content's length.
	Size  int64
	e     *Envelope
	key   []byte
	block cipher.Block
	// GCM
	nonce []byte
	icv   int
	// CBC
	iv []byte
}

// Unseal checks the content with a content key (ContentKey's) before any
// of it is given: the GCM tag over the whole ciphertext, or the CBC
// padding. It reads the envelope once, holds nothing of it, and stops
// when ctx ends.
func (e *Envelope) Unseal(ctx context.Context, contentKey []byte) (*Content, error) {
	if len(contentKey) != 32 {
		return nil, ErrDecrypt
	}
	block, err := aes.NewCipher(contentKey)
	if err != nil {
		return nil, ErrDecrypt
	}
	c := &Content{e: e, key: append([]byte(nil), contentKey...), block: block}
	if e.Cipher == AES256GCM {
		var p gcmParameters
		if rest, err := asn1.Unmarshal(e.alg.Parameters.FullBytes, &p); err != nil || len(rest) != 0 || len(p.Nonce) == 0 || len(p.Nonce) > 64 {
			return nil, invalid("GCM parameters: %v", err)
		}
		if p.ICVLen == 0 {
			p.ICVLen = 12
		}
		if len(e.mac) != p.ICVLen || p.ICVLen < 12 || p.ICVLen > 16 {
			return nil, invalid("GCM tag of %d bytes, %d declared", len(e.mac), p.ICVLen)
		}
		if e.contentLen > maxGCM {
			return nil, invalid("%d bytes of GCM content, more than GCM allows", e.contentLen)
		}
		c.nonce, c.icv, c.Size = p.Nonce, p.ICVLen, e.contentLen
		s := newGCMStream(block, c.nonce)
		buf := make([]byte, 64<<10)
		r := e.ciphertext()
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			n, err := r.Read(buf)
			s.hash.write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
		}
		if tag := s.tag(); subtle.ConstantTimeCompare(tag[:c.icv], e.mac) != 1 {
			return nil, ErrDecrypt
		}
		return c, nil
	}
	if rest, err := asn1.Unmarshal(e.alg.Parameters.FullBytes, &c.iv); err != nil || len(rest) != 0 || len(c.iv) != aes.BlockSize {
		return nil, invalid("CBC parameters")
	}
	n := e.contentLen
	if n == 0 || n%aes.BlockSize != 0 {
		return nil, ErrDecrypt
	}
	// The padding is in the last block, decrypted with the one before.
	last := make([]byte, 2*aes.BlockSize)
	copy(last, c.iv)
	r := e.ciphertext()
	if n > aes.BlockSize {
		// Only the pieces' headers are read on the way: their contents
		// are passed without reading.
		if err := r.skip(n - 2*aes.BlockSize); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(r, last); err != nil {
			return nil, ErrDecrypt
		}
	} else if _, err := io.ReadFull(r, last[aes.BlockSize:]); err != nil {
		return nil, ErrDecrypt
	}
	cipher.NewCBCDecrypter(block, last[:aes.BlockSize]).CryptBlocks(last[aes.BlockSize:], last[aes.BlockSize:])
	pad, ok := padding(last[aes.BlockSize:])
	if !ok {
		return nil, ErrDecrypt
	}
	c.Size = n - int64(pad)
	return c, nil
}

// padding reads a PKCS #7 padding in constant time.
func padding(block []byte) (int, bool) {
	pad := int(block[len(block)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	for i := range aes.BlockSize {
		inPad := subtle.ConstantTimeLessOrEq(i+1, pad)
		match := subtle.ConstantTimeByteEq(block[len(block)-1-i], byte(pad))
		good &= match | (inPad ^ 1)
	}
	return pad, good == 1
}

// Close forgets the content key.
func (c *Content) Close() { clear(c.key) }

// Reader returns the content, decrypted from the envelope as it is read.
// Should the envelope have changed since Unseal, the reader ends with
// ErrDecrypt instead of io.EOF.
func (c *Content) Reader() io.Reader {
	r := &contentReader{src: c.e.ciphertext(), left: c.Size}
	if c.nonce != nil {
		r.gcm, r.mac, r.icv = newGCMStream(c.block, c.nonce), c.e.mac, c.icv
	} else {
		r.cbc, r.padded = cipher.NewCBCDecrypter(c.block, c.iv), c.e.contentLen
	}
	return r
}

type contentReader struct {
	src  *ciphertext
	left int64 // content still to give
	gcm  *gcmStream
	mac  []byte
	icv  int
	cbc  cipher.BlockMode
	// padded is the CBC ciphertext still to read; out holds decrypted
	// bytes not yet given.
	padded int64
	buf    []byte
	out    []byte
	err    error
}

func (r *contentReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.gcm != nil {
		n, err := r.src.Read(p)
		r.gcm.decrypt(p[:n])
		if err == io.EOF {
			if tag := r.gcm.tag(); subtle.ConstantTimeCompare(tag[:r.icv], r.mac) != 1 {
				r.err = fmt.Errorf("%w: the envelope changed while it was read", ErrDecrypt)
				return 0, r.err
			}
			r.err = io.EOF
		} else if err != nil {
			r.err = err
		}
		return n, nil
	}
	if len(r.out) == 0 {
		if r.padded == 0 {
			r.err = io.EOF
			if r.left != 0 {
				r.err = ErrDecrypt
			}
			return 0, r.err
		}
		if r.buf == nil {
			r.buf = make([]byte, 64<<10)
		}
		n := int(min(int64(len(r.buf)), r.padded))
		if _, err := io.ReadFull(r.src, r.buf[:n]); err != nil {
			r.err = fmt.Errorf("%w: the envelope changed while it was read", ErrDecrypt)
			return 0, r.err
		}
		r.cbc.CryptBlocks(r.buf[:n], r.buf[:n])
		r.padded -= int64(n)
		out := r.buf[:n]
		if int64(len(out)) > r.left {
			if _, ok := padding(out); !ok || r.padded != 0 {
				r.err = fmt.Errorf("%w: the envelope changed while it was read", ErrDecrypt)
				return 0, r.err
			}
			out = out[:r.left]
		}
		r.out = out
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	r.left -= int64(n)
	return n, nil
}

// Decrypt returns the content with a content key (ContentKey's), checked
// whole first, in memory: at most MaxInMemory bytes.
func (e *Envelope) Decrypt(contentKey []byte) ([]byte, error) {
	c, err := e.Unseal(context.Background(), contentKey)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if c.Size > MaxInMemory {
		return nil, fmt.Errorf("%w: %d bytes of content, at most %d in memory", ErrInvalid, c.Size, MaxInMemory)
	}
	out := make([]byte, c.Size)
	if _, err := io.ReadFull(c.Reader(), out); err != nil {
		return nil, errors.Join(ErrDecrypt, err)
	}
	return out, nil
}
