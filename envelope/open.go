package envelope

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// Bounds of what Parse reads: the whole envelope in memory, and how many
// recipients it may name.
const (
	MaxEnvelope   = 64 << 20
	MaxRecipients = 1000
)

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
	content    []byte
	mac        []byte
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

// Parse reads a DER envelope (ContentInfo of EnvelopedData or
// AuthEnvelopedData) of at most MaxEnvelope bytes.
func Parse(der []byte) (*Envelope, error) {
	if len(der) > MaxEnvelope {
		return nil, invalid("%d bytes, at most %d", len(der), MaxEnvelope)
	}
	var ci contentInfo
	if rest, err := asn1.Unmarshal(der, &ci); err != nil || len(rest) != 0 {
		return nil, invalid("not DER CMS: %v", err)
	}
	e := &Envelope{}
	var ris []asn1.RawValue
	var eci encryptedContentInfo
	switch {
	case ci.ContentType.Equal(oidAuthEnvelopedData):
		var ad authEnvelopedData
		if rest, err := asn1.Unmarshal(ci.Content.Bytes, &ad); err != nil || len(rest) != 0 {
			return nil, invalid("AuthEnvelopedData: %v", err)
		}
		e.Auth, ris, eci, e.mac = true, ad.RecipientInfos, ad.AuthEncryptedContentInfo, ad.MAC
	case ci.ContentType.Equal(oidEnvelopedData):
		var ed envelopedData
		if rest, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil || len(rest) != 0 {
			return nil, invalid("EnvelopedData (or one with originator information or attributes, not read here): %v", err)
		}
		ris, eci = ed.RecipientInfos, ed.EncryptedContentInfo
	default:
		return nil, invalid("content type %v is not an envelope", ci.ContentType)
	}
	if len(ris) == 0 || len(ris) > MaxRecipients {
		return nil, invalid("%d recipients", len(ris))
	}
	e.alg, e.content = eci.ContentEncryptionAlgorithm, eci.EncryptedContent
	switch alg := e.alg.Algorithm; {
	case alg.Equal(oidAES256GCM) && e.Auth:
		e.Cipher = AES256GCM
	case alg.Equal(oidAES256CBC) && !e.Auth:
		e.Cipher = AES256CBC
	default:
		return nil, invalid("content encryption %v", alg)
	}
	for _, raw := range ris {
		r, err := parseRecipient(raw)
		if err != nil {
			return nil, err
		}
		if r != nil {
			e.Recipients = append(e.Recipients, *r)
		}
	}
	return e, nil
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

// Decrypt decrypts the content with a content key (ContentKey's); the
// content is given only when it is whole: the GCM tag or the CBC padding
// checked.
func (e *Envelope) Decrypt(contentKey []byte) ([]byte, error) {
	if len(contentKey) != 32 {
		return nil, ErrDecrypt
	}
	block, err := aes.NewCipher(contentKey)
	if err != nil {
		return nil, ErrDecrypt
	}
	if e.Cipher == AES256GCM {
		var p gcmParameters
		if rest, err := asn1.Unmarshal(e.alg.Parameters.FullBytes, &p); err != nil || len(rest) != 0 || len(p.Nonce) == 0 {
			return nil, invalid("GCM parameters: %v", err)
		}
		if p.ICVLen == 0 {
			p.ICVLen = 12
		}
		if len(e.mac) != p.ICVLen || p.ICVLen < 12 || p.ICVLen > 16 {
			return nil, invalid("GCM tag of %d bytes, %d declared", len(e.mac), p.ICVLen)
		}
		var aead cipher.AEAD
		switch {
		case len(p.Nonce) == 12:
			aead, err = cipher.NewGCMWithTagSize(block, p.ICVLen)
		case p.ICVLen == 16:
			aead, err = cipher.NewGCMWithNonceSize(block, len(p.Nonce))
		default:
			return nil, invalid("a %d-byte GCM nonce with a %d-byte tag", len(p.Nonce), p.ICVLen)
		}
		if err != nil {
			return nil, invalid("GCM: %v", err)
		}
		out, err := aead.Open(nil, p.Nonce, append(append([]byte(nil), e.content...), e.mac...), nil)
		if err != nil {
			return nil, ErrDecrypt
		}
		return out, nil
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(e.alg.Parameters.FullBytes, &iv); err != nil || len(rest) != 0 || len(iv) != aes.BlockSize {
		return nil, invalid("CBC parameters")
	}
	if len(e.content) == 0 || len(e.content)%aes.BlockSize != 0 {
		return nil, ErrDecrypt
	}
	out := make([]byte, len(e.content))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, e.content)
	pad := int(out[len(out)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	for i := range aes.BlockSize {
		inPad := subtle.ConstantTimeLessOrEq(i+1, pad)
		match := subtle.ConstantTimeByteEq(out[len(out)-1-i], byte(pad))
		good &= match | (inPad ^ 1)
	}
	if good != 1 {
		return nil, ErrDecrypt
	}
	return out[:len(out)-pad], nil
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
