package envelope

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Bounds of what Parse reads: an envelope's size, its recipients, and
// the elements it holds in memory (the recipients and algorithms).
const (
	MaxEnvelope   = 1 << 40
	MaxRecipients = 1000
	maxHeaders    = 4 << 20
)

// MaxInMemory bounds what Decrypt and Encrypt hold in memory; Unseal and
// an Encryptor stream any size.
const MaxInMemory = 64 << 20

// ErrInvalid means an envelope this package cannot read: not CMS, not
// enveloped, an algorithm it does not make, or damaged.
var ErrInvalid = errors.New("not a readable encrypted document")

// ErrNotRecipient means the key's certificate is not among the envelope's
// recipients.
var ErrNotRecipient = errors.New("the document is not encrypted to this certificate")

// ErrDecrypt means the content did not decrypt: the wrong key, or an
// envelope changed after it was made. Nothing of the content is given.
var ErrDecrypt = errors.New("the document does not decrypt: the wrong key, or it was changed")

// ECDHKey is an EC recipient's private key as the token holds it: the
// shared secret with a peer's public key (crypto/ecdh keys have it too).
type ECDHKey interface {
	ECDH(remote *ecdh.PublicKey) ([]byte, error)
}

// Envelope is a parsed envelope.
type Envelope struct {
	// Auth says AuthEnvelopedData (AES-GCM), else EnvelopedData.
	Auth       bool
	Cipher     Cipher
	Recipients []Recipient
	alg        pkix.AlgorithmIdentifier
	mac        []byte
	// src holds the envelope; the encrypted content starts at contentAt
	// (after its [0] header), primitive or in chunks, contentLen bytes
	// in all.
	src        io.ReaderAt
	size       int64
	contentAt  int64
	chunked    bool
	contentLen int64
}

// Recipient is one recipient the envelope names.
type Recipient struct {
	// Issuer (raw DER) and Serial, or SubjectKeyID, name the certificate.
	Issuer       []byte
	Serial       *big.Int
	SubjectKeyID []byte
	// EC says key agreement; else RSA key transport with Padding.
	EC      bool
	Padding RSAPadding
	// OAEPHash is the OAEP hash (SHA-1 when the envelope says nothing, as
	// RFC 3560's default).
	OAEPHash  crypto.Hash
	key       []byte
	ephemeral []byte // the originator's public key (EC)
	ukm       []byte
}

// Matches reports whether c is the certificate the recipient names.
func (r *Recipient) Matches(c *x509.Certificate) bool {
	if r.SubjectKeyID != nil {
		return bytes.Equal(r.SubjectKeyID, c.SubjectKeyId)
	}
	return r.Serial != nil && r.Serial.Cmp(c.SerialNumber) == 0 && bytes.Equal(r.Issuer, c.RawIssuer)
}

// For returns the recipient that c is, if any.
func (e *Envelope) For(c *x509.Certificate) (*Recipient, bool) {
	for i := range e.Recipients {
		if e.Recipients[i].Matches(c) {
			return &e.Recipients[i], true
		}
	}
	return nil, false
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

// Parse reads an envelope held in memory.
func Parse(der []byte) (*Envelope, error) {
	return ParseFrom(bytes.NewReader(der), int64(len(der)))
}

// ParseFrom reads an envelope (ContentInfo of EnvelopedData or
// AuthEnvelopedData, DER or BER with indefinite lengths and chunked
// content) of size bytes from src, in one pass. Only its recipients and
// algorithms are held; the content stays in src, which must not change
// while the Envelope is used.
func ParseFrom(src io.ReaderAt, size int64) (*Envelope, error) {
	if size > MaxEnvelope {
		return nil, invalid("%d bytes, at most %d", size, MaxEnvelope)
	}
	e := &Envelope{src: src, size: size}
	if err := e.parse(newCursor(src, 0, size)); err != nil {
		if errors.Is(err, errTruncated) {
			return nil, invalid("it ends early (truncated, or not CMS)")
		}
		return nil, err
	}
	return e, nil
}

func (e *Envelope) parse(c *cursor) error {
	ci, err := c.open(asn1.ClassUniversal, asn1.TagSequence, "a ContentInfo")
	if err != nil {
		return err
	}
	_, oidDER, err := c.element(64, "the content type")
	if err != nil {
		return err
	}
	var ct asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(oidDER, &ct); err != nil || len(rest) != 0 {
		return invalid("the content type: %v", err)
	}
	switch {
	case ct.Equal(oidAuthEnvelopedData):
		e.Auth = true
	case ct.Equal(oidEnvelopedData):
	default:
		return invalid("content type %v is not an envelope", ct)
	}
	explicit, err := c.open(asn1.ClassContextSpecific, 0, "the content")
	if err != nil {
		return err
	}
	ed, err := c.open(asn1.ClassUniversal, asn1.TagSequence, "an envelope")
	if err != nil {
		return err
	}
	if _, _, err := c.element(8, "the version"); err != nil {
		return err
	}
	if class, tag, _, err := c.peek(); err != nil {
		return err
	} else if class == asn1.ClassContextSpecific && tag == 0 {
		// originatorInfo: certificates for the recipients, not needed.
		h, _ := c.header()
		if err := c.skipContent(h, 0); err != nil {
			return err
		}
	}
	_, set, err := c.element(maxHeaders, "the recipients")
	if err != nil {
		return err
	}
	var ris []asn1.RawValue
	if rest, err := asn1.UnmarshalWithParams(set, &ris, "set"); err != nil || len(rest) != 0 {
		return invalid("the recipients: %v", err)
	}
	if len(ris) == 0 || len(ris) > MaxRecipients {
		return invalid("%d recipients", len(ris))
	}
	for _, raw := range ris {
		r, err := parseRecipient(raw)
		if err != nil {
			return err
		}
		if r != nil {
			e.Recipients = append(e.Recipients, *r)
		}
	}
	if err := e.parseContent(c); err != nil {
		return err
	}
	if e.Auth {
		if class, tag, _, err := c.peek(); err != nil {
			return err
		} else if class == asn1.ClassContextSpecific && tag == 1 {
			return invalid("authenticated attributes, which tte-agent does not read")
		}
		_, mac, err := c.element(64, "the tag")
		if err != nil {
			return err
		}
		if rest, err := asn1.Unmarshal(mac, &e.mac); err != nil || len(rest) != 0 {
			return invalid("the tag: %v", err)
		}
	}
	// Unprotected attributes ([1] or [2]) say nothing tte-agent uses.
	for {
		more, err := c.more(ed)
		if err != nil || !more {
			if err != nil {
				return err
			}
			break
		}
		h, err := c.header()
		if err != nil {
			return err
		}
		if h.class != asn1.ClassContextSpecific {
			return invalid("the envelope has more than it should")
		}
		if err := c.skipContent(h, 0); err != nil {
			return err
		}
	}
	for _, k := range []struct {
		c    container
		what string
	}{{ed, "the envelope"}, {explicit, "the content"}, {ci, "the ContentInfo"}} {
		if err := c.close(k.c, k.what); err != nil {
			return err
		}
	}
	if c.pos != e.size {
		return invalid("%d bytes after the envelope", e.size-c.pos)
	}
	return nil
}

// parseContent reads the EncryptedContentInfo: its algorithm, and where
// the encrypted content is.
func (e *Envelope) parseContent(c *cursor) error {
	eci, err := c.open(asn1.ClassUniversal, asn1.TagSequence, "the encrypted content")
	if err != nil {
		return err
	}
	if _, _, err := c.element(64, "the content type"); err != nil {
		return err
	}
	_, algDER, err := c.element(1024, "the content encryption")
	if err != nil {
		return err
	}
	if rest, err := asn1.Unmarshal(algDER, &e.alg); err != nil || len(rest) != 0 {
		return invalid("the content encryption: %v", err)
	}
	switch alg := e.alg.Algorithm; {
	case alg.Equal(oidAES256GCM) && e.Auth:
		e.Cipher = AES256GCM
	case alg.Equal(oidAES256CBC) && !e.Auth:
		e.Cipher = AES256CBC
	default:
		return invalid("content encryption %v", alg)
	}
	h, err := c.header()
	if err != nil {
		return err
	}
	if h.class != asn1.ClassContextSpecific || h.tag != 0 {
		return invalid("no encrypted content (a detached envelope)")
	}
	e.contentAt = c.pos
	if !h.constructed {
		e.contentLen = h.length
		if err := c.skip(h.length); err != nil {
			return err
		}
	} else {
		e.chunked = true
		chunks := c.opened(h)
		for {
			more, err := c.more(chunks)
			if err != nil {
				return err
			}
			if !more {
				break
			}
			in, err := c.header()
			if err != nil {
				return err
			}
			if !in.is(asn1.ClassUniversal, asn1.TagOctetString, false) {
				return invalid("a piece of the content is not an OCTET STRING")
			}
			e.contentLen += in.length
			if err := c.skip(in.length); err != nil {
				return err
			}
		}
		if err := c.close(chunks, "the encrypted content"); err != nil {
			return err
		}
	}
	return c.close(eci, "the encrypted content")
}

// parseRecipient reads a RecipientInfo; kinds this package does not make
// (KEK, password) are skipped (nil).
func parseRecipient(raw asn1.RawValue) (*Recipient, error) {
	switch {
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagSequence:
		var kt keyTransRecipientInfo
		if rest, err := asn1.Unmarshal(raw.FullBytes, &kt); err != nil || len(rest) != 0 {
			return nil, invalid("recipient: %v", err)
		}
		r := &Recipient{key: kt.EncryptedKey}
		if err := r.setRID(kt.RID, 0); err != nil {
			return nil, err
		}
		switch a := kt.KeyEncryptionAlgorithm; {
		case a.Algorithm.Equal(oidRSAEncryption):
			r.Padding = RSAPKCS1v15
		case a.Algorithm.Equal(oidRSAOAEP):
			r.Padding, r.OAEPHash = RSAOAEP, crypto.SHA1
			if len(a.Parameters.FullBytes) > 0 {
				var p struct {
					Hash pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:0"`
					MGF  pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:1"`
				}
				if _, err := asn1.Unmarshal(a.Parameters.FullBytes, &p); err != nil {
					return nil, invalid("OAEP parameters: %v", err)
				}
				if p.Hash.Algorithm.Equal(oidSHA256) {
					r.OAEPHash = crypto.SHA256
				} else if len(p.Hash.Algorithm) > 0 && !p.Hash.Algorithm.Equal(asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}) {
					return nil, invalid("OAEP hash %v", p.Hash.Algorithm)
				}
			}
		default:
			return nil, invalid("key transport %v", a.Algorithm)
		}
		return r, nil
	case raw.Class == asn1.ClassContextSpecific && raw.Tag == 1:
		der := append([]byte{0x30}, raw.FullBytes[1:]...) // [1] IMPLICIT SEQUENCE
		var ka keyAgreeRecipientInfo
		if rest, err := asn1.Unmarshal(der, &ka); err != nil || len(rest) != 0 {
			return nil, invalid("key agreement recipient: %v", err)
		}
		if !ka.KeyEncryptionAlgorithm.Algorithm.Equal(oidECDHSHA256KDF) {
			return nil, invalid("key agreement %v (only dhSinglePass-stdDH-sha256kdf-scheme)", ka.KeyEncryptionAlgorithm.Algorithm)
		}
		var wrapAlg pkix.AlgorithmIdentifier
		if _, err := asn1.Unmarshal(ka.KeyEncryptionAlgorithm.Parameters.FullBytes, &wrapAlg); err != nil || !wrapAlg.Algorithm.Equal(oidAES256Wrap) {
			return nil, invalid("key wrap %v (only AES-256 key wrap)", wrapAlg.Algorithm)
		}
		var o asn1.RawValue
		if ka.Originator.Class != asn1.ClassContextSpecific || ka.Originator.Tag != 0 {
			return nil, invalid("key agreement without an originator")
		}
		if rest, err := asn1.Unmarshal(ka.Originator.Bytes, &o); err != nil || len(rest) != 0 || o.Class != asn1.ClassContextSpecific || o.Tag != 1 {
			return nil, invalid("the originator is not an ephemeral public key")
		}
		var opk originatorPublicKey
		if _, err := asn1.Unmarshal(append([]byte{0x30}, o.FullBytes[1:]...), &opk); err != nil {
			return nil, invalid("originator key: %v", err)
		}
		if len(ka.RecipientEncryptedKeys) != 1 {
			// One recipient per kari is what this package and OpenSSL
			// write; several would share the ephemeral key.
			return nil, invalid("%d keys in one key agreement", len(ka.RecipientEncryptedKeys))
		}
		rek := ka.RecipientEncryptedKeys[0]
		r := &Recipient{EC: true, key: rek.EncryptedKey, ephemeral: opk.PublicKey.RightAlign(), ukm: ka.UKM}
		if err := r.setRID(rek.RID, 0); err != nil {
			return nil, err
		}
		return r, nil
	}
	return nil, nil
}

// setRID reads issuerAndSerialNumber, or [tag] subjectKeyIdentifier.
func (r *Recipient) setRID(rid asn1.RawValue, skiTag int) error {
	if rid.Class == asn1.ClassContextSpecific && rid.Tag == skiTag {
		r.SubjectKeyID = rid.Bytes
		return nil
	}
	var is issuerAndSerial
	if rest, err := asn1.Unmarshal(rid.FullBytes, &is); err != nil || len(rest) != 0 {
		return invalid("recipient identifier: %v", err)
	}
	r.Issuer, r.Serial = is.Issuer.FullBytes, is.Serial
	return nil
}

// ContentKey recovers the content key for r with key: a crypto.Decrypter
// for RSA recipients (a token's C_Decrypt), an ECDHKey for EC ones (a
// token's C_DeriveKey).
func (r *Recipient) ContentKey(key any) ([]byte, error) {
	if r.EC {
		k, ok := key.(ECDHKey)
		if !ok {
			return nil, fmt.Errorf("%w: an EC recipient needs an ECDH key, not %T", ErrNotRecipient, key)
		}
		pub, err := ecdhPublic(r.ephemeral)
		if err != nil {
			return nil, err
		}
		z, err := k.ECDH(pub)
		if err != nil {
			return nil, err
		}
		kek, err := kekFor(z, r.ukm)
		if err != nil {
			return nil, err
		}
		ck, err := keyUnwrap(kek, r.key)
		if err != nil {
			return nil, ErrDecrypt
		}
		return ck, nil
	}
	d, ok := key.(crypto.Decrypter)
	if !ok {
		return nil, fmt.Errorf("%w: an RSA recipient needs a decrypting key, not %T", ErrNotRecipient, key)
	}
	// PKCS #1 v1.5 envelopes still arrive from older senders. With a
	// software key, SessionKeyLen makes a bad padding yield a random key
	// in constant time (the content then fails), not an oracle.
	//lint:ignore SA1019 opening what older senders encrypt
	var opts crypto.DecrypterOpts = &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 32}
	if r.Padding == RSAOAEP {
		opts = &rsa.OAEPOptions{Hash: r.OAEPHash, MGFHash: r.OAEPHash}
	}
	ck, err := d.Decrypt(rand.Reader, r.key, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return ck, nil
}

// ecdhPublic reads an uncompressed point on any supported curve.
func ecdhPublic(b []byte) (*ecdh.PublicKey, error) {
	for _, c := range []ecdh.Curve{ecdh.P256(), ecdh.P384(), ecdh.P521()} {
		if pub, err := c.NewPublicKey(b); err == nil {
			return pub, nil
		}
	}
	return nil, invalid("the originator's public key is not a point of P-256, P-384 or P-521")
}

// Open decrypts the envelope for the certificate c with its key.
func (e *Envelope) Open(c *x509.Certificate, key any) ([]byte, error) {
	r, ok := e.For(c)
	if !ok {
		return nil, ErrNotRecipient
	}
	ck, err := r.ContentKey(key)
	if err != nil {
		return nil, err
	}
	defer clear(ck)
	return e.Decrypt(ck)
}
