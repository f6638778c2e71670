package envelope

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestGCMStream: the GCM made in pieces here is crypto/cipher's GCM byte
// for byte — ciphertext and tag — for every length around the block size,
// 12-byte and other nonces, whatever the pieces.
func TestGCMStream(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	for _, nonceLen := range []int{12, 8, 16, 60} {
		var aead cipher.AEAD
		var err error
		if nonceLen == 12 {
			aead, err = cipher.NewGCM(block)
		} else {
			aead, err = cipher.NewGCMWithNonceSize(block, nonceLen)
		}
		if err != nil {
			t.Fatal(err)
		}
		nonce := make([]byte, nonceLen)
		rand.Read(nonce)
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 511, 512, 513, 4096 + 7, 100000} {
			plain := make([]byte, n)
			rand.Read(plain)
			want := aead.Seal(nil, nonce, plain, nil)
			for _, piece := range []int{1, 5, 16, 1000, n + 1} {
				s := newGCMStream(block, nonce)
				got := bytes.Clone(plain)
				for i := 0; i < n; i += piece {
					s.encrypt(got[i:min(n, i+piece)])
				}
				tag := s.tag()
				if !bytes.Equal(got, want[:n]) || !bytes.Equal(tag[:], want[n:]) {
					t.Fatalf("nonce %d, %d bytes in pieces of %d: differs from crypto/cipher", nonceLen, n, piece)
				}
				d := newGCMStream(block, nonce)
				d.decrypt(got)
				if tag2 := d.tag(); !bytes.Equal(got, plain) || tag2 != tag {
					t.Fatalf("nonce %d, %d bytes: decrypting in pieces differs", nonceLen, n)
				}
			}
		}
	}
}

// TestStreaming: a document larger than what is held in memory is
// encrypted from a file to a file and opened from it, for both ciphers;
// the envelope's size is known before it is written; a byte changed after
// Unseal ends the reader with ErrDecrypt, not with the content.
func TestStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 2 × 80 MiB")
	}
	ps := parties(t)
	dir := t.TempDir()
	content := make([]byte, 80<<20+5)
	rand.Read(content[:1<<20])
	for i := 1 << 20; i < len(content); i += 1 << 20 {
		copy(content[i:], content[:1<<20])
	}
	for _, opts := range []Options{{}, {Cipher: AES256CBC}} {
		enc, err := NewEncryptor([]*x509.Certificate{ps[0].cert, ps[1].cert}, opts, int64(len(content)))
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, "big.p7m")
		f, _ := os.Create(name)
		if err := enc.Encrypt(f, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		if fi.Size() != enc.Size() {
			t.Fatalf("%+v: wrote %d bytes, Size said %d", opts, fi.Size(), enc.Size())
		}
		e, err := ParseFrom(f, fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Decrypt(nil); !errors.Is(err, ErrDecrypt) {
			t.Errorf("no key: %v", err)
		}
		r, _ := e.For(ps[1].cert)
		ck, err := r.ContentKey(opener(t, ps[1]))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Decrypt(ck); err == nil {
			t.Errorf("%+v: Decrypt held %d bytes in memory", opts, len(content))
		}
		c, err := e.Unseal(context.Background(), ck)
		if err != nil {
			t.Fatal(err)
		}
		if c.Size != int64(len(content)) {
			t.Fatalf("%+v: size %d", opts, c.Size)
		}
		got, err := io.ReadAll(c.Reader())
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("%+v: %d bytes back, %v", opts, len(got), err)
		}
		// A byte changed under an unsealed content (another process
		// writing the spool): GCM's tag, checked again while reading,
		// refuses it; CBC's padding only when the change reaches it.
		at := e.contentAt + int64(len(content)) - 20
		f.WriteAt([]byte{0xff ^ got[len(got)-20]}, at)
		_, err = io.Copy(io.Discard, c.Reader())
		if opts.Cipher != AES256CBC && !errors.Is(err, ErrDecrypt) {
			t.Errorf("%+v: a changed envelope read as %v", opts, err)
		}
		c.Close()
		f.Close()
	}
}
