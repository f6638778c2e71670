package envelope

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// AES-GCM in pieces. Go's cipher.AEAD seals and opens a whole message in
// memory; an envelope of hundreds of megabytes is decrypted here as it is
// read instead: counter mode for the content, GHASH (NIST SP 800-38D) for
// the tag, which is checked over the whole ciphertext before any content
// is given. The tests hold it to crypto/cipher's GCM byte for byte.

// fieldElement is an element of GF(2^128) in GCM's bit order: low holds
// the first eight bytes of a block, big-endian.
type fieldElement struct{ low, high uint64 }

// double multiplies by x.
func double(x fieldElement) fieldElement {
	msb := x.high&1 == 1
	d := fieldElement{low: x.low >> 1, high: x.high>>1 | x.low<<63}
	if msb {
		d.low ^= 0xe100000000000000
	}
	return d
}

// reduction reduces the eight bits shifted out of a product (x^8 times
// the field element they were, modulo GCM's polynomial); made from the
// one-bit doubling, so it cannot disagree with it.
var reduction = func() (t [256]uint16) {
	for b := range 256 {
		x := fieldElement{high: uint64(b)}
		for range 8 {
			x = double(x)
		}
		t[b] = uint16(x.low >> 48)
	}
	return t
}()

// reverse8 reverses the bits of a byte: the tables are indexed in GCM's
// bit order, where the first bit is x^0.
func reverse8(i int) int {
	i = (i<<4)&0xf0 | (i>>4)&0x0f
	i = (i<<2)&0xcc | (i>>2)&0x33
	return (i<<1)&0xaa | (i>>1)&0x55
}

// ghash accumulates GHASH under a key H, with a table of H's multiples by
// every byte (Shoup's method, eight bits at a time).
type ghash struct {
	table   [256]fieldElement
	y       fieldElement
	partial [16]byte
	np      int
	n       uint64 // bytes hashed
}

func newGHASH(block cipher.Block) *ghash {
	var h [16]byte
	block.Encrypt(h[:], h[:])
	x := fieldElement{binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:])}
	g := &ghash{}
	g.table[reverse8(1)] = x
	for i := 2; i < 256; i += 2 {
		g.table[reverse8(i)] = double(g.table[reverse8(i/2)])
		d := g.table[reverse8(i)]
		g.table[reverse8(i+1)] = fieldElement{d.low ^ x.low, d.high ^ x.high}
	}
	return g
}

// mul sets y to y·H.
func (g *ghash) mul(y *fieldElement) {
	var z fieldElement
	for i := range 2 {
		word := y.high
		if i == 1 {
			word = y.low
		}
		for j := 0; j < 64; j += 8 {
			msb := z.high & 0xff
			z.high = z.high>>8 | z.low<<56
			z.low = z.low>>8 ^ uint64(reduction[msb])<<48
			t := &g.table[word&0xff]
			z.low ^= t.low
			z.high ^= t.high
			word >>= 8
		}
	}
	*y = z
}

func (g *ghash) block(b []byte) {
	g.y.low ^= binary.BigEndian.Uint64(b)
	g.y.high ^= binary.BigEndian.Uint64(b[8:])
	g.mul(&g.y)
}

// write hashes p, keeping a partial block for the next call.
func (g *ghash) write(p []byte) {
	g.n += uint64(len(p))
	if g.np > 0 {
		k := copy(g.partial[g.np:], p)
		g.np += k
		p = p[k:]
		if g.np < 16 {
			return
		}
		g.block(g.partial[:])
		g.np = 0
	}
	for len(p) >= 16 {
		g.block(p[:16])
		p = p[16:]
	}
	g.np = copy(g.partial[:], p)
}

// pad hashes a partial block filled with zeros.
func (g *ghash) pad() {
	if g.np > 0 {
		clear(g.partial[g.np:])
		g.block(g.partial[:])
		g.np = 0
	}
}

// sum ends the hash of a message without additional data: the lengths
// block, then the result.
func (g *ghash) sum() [16]byte {
	g.pad()
	g.y.high ^= g.n * 8
	g.mul(&g.y)
	var out [16]byte
	binary.BigEndian.PutUint64(out[:8], g.y.low)
	binary.BigEndian.PutUint64(out[8:], g.y.high)
	return out
}

// gcmStream encrypts or decrypts one message in pieces and computes its
// tag over the ciphertext.
type gcmStream struct {
	block   cipher.Block
	hash    *ghash
	tagMask [16]byte
	ctr     [16]byte
	ks      [16 * 32]byte
	ksLeft  int
	// ctrMode is crypto/cipher's counter mode (AES-NI, many blocks at
	// once) where it equals GCM's: with a 12-byte nonce the counter's
	// last 32 bits start at 2 and cannot wrap within GCM's 64 GiB, so
	// incrementing all 128 bits is the same.
	ctrMode cipher.Stream
}

// maxGCM is GCM's limit on one message (2^39 - 256 bits).
const maxGCM = 1<<36 - 32

// newGCMStream prepares the counter from the nonce: J0 = nonce‖1 for 12
// bytes, GHASH of the nonce otherwise; the content starts at inc32(J0).
func newGCMStream(block cipher.Block, nonce []byte) *gcmStream {
	s := &gcmStream{block: block, hash: newGHASH(block)}
	var j0 [16]byte
	if len(nonce) == 12 {
		copy(j0[:], nonce)
		j0[15] = 1
	} else {
		g := newGHASH(block)
		g.write(nonce)
		g.pad()
		g.y.high ^= uint64(len(nonce)) * 8
		g.mul(&g.y)
		binary.BigEndian.PutUint64(j0[:8], g.y.low)
		binary.BigEndian.PutUint64(j0[8:], g.y.high)
	}
	block.Encrypt(s.tagMask[:], j0[:])
	s.ctr = j0
	if len(nonce) == 12 {
		first := j0
		first[15] = 2
		s.ctrMode = cipher.NewCTR(block, first[:])
	}
	return s
}

// keystream XORs the next len(src) bytes of counter-mode key stream into
// dst. The counter's last 32 bits wrap on their own, as GCM says.
func (s *gcmStream) keystream(dst, src []byte) {
	if s.ctrMode != nil {
		s.ctrMode.XORKeyStream(dst, src)
		return
	}
	for len(src) > 0 {
		if s.ksLeft == 0 {
			for i := 0; i < len(s.ks); i += 16 {
				c := binary.BigEndian.Uint32(s.ctr[12:]) + 1
				binary.BigEndian.PutUint32(s.ctr[12:], c)
				s.block.Encrypt(s.ks[i:i+16], s.ctr[:])
			}
			s.ksLeft = len(s.ks)
		}
		k := subtle.XORBytes(dst, src, s.ks[len(s.ks)-s.ksLeft:])
		s.ksLeft -= k
		dst, src = dst[k:], src[k:]
	}
}

// encrypt encrypts p in place and hashes the ciphertext.
func (s *gcmStream) encrypt(p []byte) {
	s.keystream(p, p)
	s.hash.write(p)
}

// decrypt hashes the ciphertext p and decrypts it in place.
func (s *gcmStream) decrypt(p []byte) {
	s.hash.write(p)
	s.keystream(p, p)
}

// tag returns the full 16-byte tag of what was hashed.
func (s *gcmStream) tag() [16]byte {
	t := s.hash.sum()
	subtle.XORBytes(t[:], t[:], s.tagMask[:])
	return t
}
