package pades

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// Permission bits of the standard security handler's /P (ISO 32000-2
// Table 22) that allow a signature.
const (
	permAnnotate = 1 << 5 // bit 6: fill in form fields, add annotations
	permFillForm = 1 << 8 // bit 9: fill in form fields, signature fields included
)

// crypt encrypts what an update adds to a document encrypted with the
// standard security handler and an empty user password, as the
// document's own objects are: the reader decrypts every string and
// stream of an encrypted file, ours included (ISO 32000-2 §7.6.2).
// pdfcpu decrypts what it reads but keeps its encryption unexported, so
// the few lines of algorithm 1 are written here.
type crypt struct {
	key                    []byte
	aesStrings, aesStreams bool
	r                      int
}

// newCrypt returns the document's crypt, or nil for an unencrypted one.
func newCrypt(ctx *model.Context) (*crypt, error) {
	if ctx.E == nil && ctx.Encrypt == nil {
		return nil, nil
	}
	if ctx.E == nil || ctx.EncKey == nil {
		return nil, problem(ProblemEncrypted, "the PDF is encrypted in a way the agent cannot read; save it without protection and sign again")
	}
	return &crypt{key: ctx.EncKey, aesStrings: ctx.AES4Strings, aesStreams: ctx.AES4Streams, r: ctx.E.R}, nil
}

// checkPermissions refuses an encrypted document whose permissions
// forbid filling in form fields, signature fields included, as Acrobat
// refuses to sign it. Validation data may be added to any document.
func checkPermissions(ctx *model.Context) error {
	if ctx.E != nil && ctx.E.P&(permAnnotate|permFillForm) == 0 {
		return problem(ProblemPermissions, "the PDF's security settings forbid filling in forms and signing; ask its author for a copy that allows signing, or save it without protection, and sign again")
	}
	return nil
}

// objectKey is algorithm 1 of ISO 32000-2 §7.6.3.3; revisions 5 and 6
// (AES-256) use the file key itself.
func (c *crypt) objectKey(num, gen int, useAES bool) []byte {
	if c.r >= 5 {
		return c.key
	}
	m := md5.New()
	m.Write(c.key)
	m.Write([]byte{byte(num), byte(num >> 8), byte(num >> 16), byte(gen), byte(gen >> 8)})
	if useAES {
		m.Write([]byte("sAlT"))
	}
	return m.Sum(nil)[:min(len(c.key)+5, 16)]
}

// encrypt returns b encrypted for object num: RC4, or AES-CBC with a
// random IV first and PKCS#5 padding.
func (c *crypt) encrypt(b []byte, num, gen int, useAES bool) ([]byte, error) {
	k := c.objectKey(num, gen, useAES)
	if !useAES {
		out := make([]byte, len(b))
		rc, err := rc4.NewCipher(k)
		if err != nil {
			return nil, err
		}
		rc.XORKeyStream(out, b)
		return out, nil
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(b)%aes.BlockSize
	out := make([]byte, aes.BlockSize+len(b)+pad)
	if _, err := rand.Read(out[:aes.BlockSize]); err != nil {
		return nil, err
	}
	copy(out[aes.BlockSize:], b)
	for i := len(out) - pad; i < len(out); i++ {
		out[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, out[:aes.BlockSize]).CryptBlocks(out[aes.BlockSize:], out[aes.BlockSize:])
	return out, nil
}

// seal returns body (an object as the update writes it: a dictionary or
// array, maybe followed by a stream) with every string encrypted and
// written in hex, and the stream's data encrypted with /Length updated.
// Only bodies the agent wrote pass here: no comments, /Length direct.
func (c *crypt) seal(num, gen int, body string) (string, error) {
	if c == nil {
		return body, nil
	}
	b := []byte(body)
	var out bytes.Buffer
	l := &lexer{b: b}
	depth := 0
	lengthAt := -1 // where /Length's number starts in out
	for l.p < len(b) {
		ch := b[l.p]
		switch {
		case ch == '(' || (ch == '<' && (l.p+1 >= len(b) || b[l.p+1] != '<')):
			var plain []byte
			if ch == '(' {
				plain = l.literal()
			} else {
				plain = l.hex()
			}
			enc, err := c.encrypt(plain, num, gen, c.aesStrings)
			if err != nil {
				return "", err
			}
			out.WriteByte('<')
			out.WriteString(hex.EncodeToString(enc))
			out.WriteByte('>')
			continue
		case ch == '<':
			depth++
			out.WriteString("<<")
			l.p += 2
			continue
		case ch == '>' && l.p+1 < len(b) && b[l.p+1] == '>':
			depth--
			out.WriteString(">>")
			l.p += 2
			continue
		case ch == '/' && depth == 1 && bytes.HasPrefix(b[l.p:], []byte("/Length")) && l.p+7 < len(b) && isSpace(b[l.p+7]):
			out.WriteString("/Length ")
			l.p += 7
			for l.p < len(b) && isSpace(b[l.p]) {
				l.p++
			}
			lengthAt = out.Len()
			for l.p < len(b) && b[l.p] >= '0' && b[l.p] <= '9' {
				out.WriteByte(b[l.p])
				l.p++
			}
			continue
		case depth == 0 && bytes.HasPrefix(b[l.p:], []byte("stream")):
			return c.sealStream(num, gen, b, l.p, out.Bytes(), lengthAt)
		}
		out.WriteByte(ch)
		l.p++
	}
	return out.String(), nil
}

// sealStream encrypts the stream data that follows the keyword at at.
func (c *crypt) sealStream(num, gen int, b []byte, at int, dict []byte, lengthAt int) (string, error) {
	start := at + len("stream")
	if start < len(b) && b[start] == '\r' {
		start++
	}
	if start < len(b) && b[start] == '\n' {
		start++
	}
	end := bytes.LastIndex(b, []byte("endstream"))
	if end < start || lengthAt < 0 {
		return "", fmt.Errorf("pades: seal: object %d is not a stream the agent writes", num)
	}
	data := b[start:end]
	data = bytes.TrimSuffix(data, []byte("\n"))
	enc, err := c.encrypt(data, num, gen, c.aesStreams)
	if err != nil {
		return "", err
	}
	oldLen := lengthAt
	for oldLen < len(dict) && dict[oldLen] >= '0' && dict[oldLen] <= '9' {
		oldLen++
	}
	var out bytes.Buffer
	out.Write(dict[:lengthAt])
	out.WriteString(strconv.Itoa(len(enc)))
	out.Write(dict[oldLen:])
	out.WriteString("stream\n")
	out.Write(enc)
	out.WriteString("\nendstream")
	return out.String(), nil
}
