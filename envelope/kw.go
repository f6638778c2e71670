package envelope

import (
	"crypto/aes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// kwIV is RFC 3394's default initial value.
var kwIV = [8]byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}

// keyWrap wraps key (a multiple of 8 bytes, 16 at least) with kek (RFC
// 3394 AES key wrap).
func keyWrap(kek, key []byte) ([]byte, error) {
	if len(key)%8 != 0 || len(key) < 16 {
		return nil, errors.New("key wrap: the key must be a multiple of 8 bytes, 16 at least")
	}
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := len(key) / 8
	out := make([]byte, 8+len(key))
	copy(out[8:], key)
	a := kwIV
	var blk [16]byte
	for j := range 6 {
		for i := 1; i <= n; i++ {
			copy(blk[:8], a[:])
			copy(blk[8:], out[8*i:8*i+8])
			b.Encrypt(blk[:], blk[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(blk[:8])^t)
			copy(out[8*i:], blk[8:])
		}
	}
	copy(out, a[:])
	return out, nil
}

// errUnwrap means a wrapped key that does not unwrap: the wrong key, or
// a changed envelope.
var errUnwrap = errors.New("the content key does not unwrap: the wrong key, or the envelope was changed")

// keyUnwrap reverses keyWrap and checks the integrity value.
func keyUnwrap(kek, wrapped []byte) ([]byte, error) {
	if len(wrapped)%8 != 0 || len(wrapped) < 24 {
		return nil, errUnwrap
	}
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := len(wrapped)/8 - 1
	out := make([]byte, len(wrapped)-8)
	copy(out, wrapped[8:])
	var a [8]byte
	copy(a[:], wrapped[:8])
	var blk [16]byte
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(blk[:8], binary.BigEndian.Uint64(a[:])^t)
			copy(blk[8:], out[8*(i-1):8*i])
			b.Decrypt(blk[:], blk[:])
			copy(a[:], blk[:8])
			copy(out[8*(i-1):], blk[8:])
		}
	}
	if subtle.ConstantTimeCompare(a[:], kwIV[:]) != 1 {
		return nil, errUnwrap
	}
	return out, nil
}

// x963KDF derives n bytes from the shared secret z and sharedInfo with
// SHA-256 (ANSI X9.63, as RFC 5753 uses it).
func x963KDF(z, sharedInfo []byte, n int) []byte {
	var out []byte
	for counter := uint32(1); len(out) < n; counter++ {
		h := sha256.New()
		h.Write(z)
		var c [4]byte
		binary.BigEndian.PutUint32(c[:], counter)
		h.Write(c[:])
		h.Write(sharedInfo)
		out = h.Sum(out)
	}
	return out[:n]
}
