package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
)

// Cipher is the content encryption.
type Cipher string

// Content ciphers.
const (
	// AES256GCM makes an AuthEnvelopedData (RFC 5083): the content is
	// authenticated, a changed byte is refused. The default.
	AES256GCM Cipher = "AES-256-GCM"
	// AES256CBC makes an EnvelopedData for readers without
	// AuthEnvelopedData (OpenSSL's PKCS #7 API, older mail programs).
	AES256CBC Cipher = "AES-256-CBC"
)

// RSAPadding is the key transport to RSA recipients.
type RSAPadding string

// RSA key transports.
const (
	// RSAOAEP is RSAES-OAEP with SHA-256 and MGF1-SHA-256. The default.
	RSAOAEP RSAPadding = "RSA-OAEP"
	// RSAPKCS1v15 is for readers and tokens without OAEP-SHA-256.
	RSAPKCS1v15 RSAPadding = "RSA-PKCS1-v1_5"
)

// Options choose the algorithms; zero values take the defaults.
type Options struct {
	Cipher     Cipher
	RSAPadding RSAPadding
}

// Errors callers branch on.
var (
	// ErrRecipient means a certificate that cannot receive an envelope:
	// a key type or curve not supported, or a key usage without
	// keyEncipherment (RSA) or keyAgreement (EC).
	ErrRecipient = errors.New("the certificate cannot receive an encrypted document")
	// ErrOptions means an unknown cipher or padding.
	ErrOptions = errors.New("unknown envelope option")
)

// CheckRecipient says why a certificate cannot receive an envelope (its
// validity and revocation are the caller's to check).
func CheckRecipient(c *x509.Certificate) error {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
			return fmt.Errorf("%w: %s's key usage lacks keyEncipherment", ErrRecipient, c.Subject.CommonName)
		}
	case *ecdsa.PublicKey:
		if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageKeyAgreement == 0 {
			return fmt.Errorf("%w: %s's key usage lacks keyAgreement", ErrRecipient, c.Subject.CommonName)
		}
		if _, err := k.ECDH(); err != nil {
			return fmt.Errorf("%w: %s's curve: %v", ErrRecipient, c.Subject.CommonName, err)
		}
	default:
		return fmt.Errorf("%w: %s has a %T key", ErrRecipient, c.Subject.CommonName, c.PublicKey)
	}
	return nil
}

// Encrypt returns a DER ContentInfo holding content encrypted to every
// recipient, in memory (at most MaxInMemory bytes of content).
func Encrypt(content []byte, recipients []*x509.Certificate, opts Options) ([]byte, error) {
	if len(content) > MaxInMemory {
		return nil, fmt.Errorf("%w: %d bytes of content, at most %d in memory", ErrOptions, len(content), MaxInMemory)
	}
	enc, err := NewEncryptor(recipients, opts, int64(len(content)))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(int(enc.Size()))
	if err := enc.Encrypt(&out, bytes.NewReader(content)); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// An Encryptor makes one DER envelope of a content of known size, read
// and written in pieces: a document of any size is encrypted with little
// memory, and the envelope's size is known before it is written.
type Encryptor struct {
	cipher      Cipher
	key         []byte
	nonce, iv   []byte
	contentSize int64
	ctLen       int64
	// head is everything before the ciphertext; the GCM tag follows it.
	head []byte
}

// NewEncryptor checks the recipients, makes a content key and wraps it
// for each.
func NewEncryptor(recipients []*x509.Certificate, opts Options, contentSize int64) (*Encryptor, error) {
	if len(recipients) == 0 {
		return nil, fmt.Errorf("%w: no recipient", ErrRecipient)
	}
	if opts.Cipher == "" {
		opts.Cipher = AES256GCM
	}
	if opts.RSAPadding == "" {
		opts.RSAPadding = RSAOAEP
	}
	if opts.RSAPadding != RSAOAEP && opts.RSAPadding != RSAPKCS1v15 {
		return nil, fmt.Errorf("%w: RSA padding %q", ErrOptions, opts.RSAPadding)
	}
	if opts.Cipher != AES256GCM && opts.Cipher != AES256CBC {
		return nil, fmt.Errorf("%w: cipher %q", ErrOptions, opts.Cipher)
	}
	if contentSize < 0 || contentSize > MaxEnvelope/2 || opts.Cipher == AES256GCM && contentSize > maxGCM {
		return nil, fmt.Errorf("%w: a content of %d bytes", ErrOptions, contentSize)
	}
	e := &Encryptor{cipher: opts.Cipher, contentSize: contentSize, key: make([]byte, 32)}
	if _, err := rand.Read(e.key); err != nil {
		return nil, err
	}
	var ris []asn1.RawValue
	anyKari := false
	for _, c := range recipients {
		if err := CheckRecipient(c); err != nil {
			return nil, err
		}
		var ri []byte
		var err error
		switch pub := c.PublicKey.(type) {
		case *rsa.PublicKey:
			ri, err = keyTrans(c, pub, e.key, opts.RSAPadding)
		case *ecdsa.PublicKey:
			anyKari = true
			ri, err = keyAgree(c, pub, e.key)
		}
		if err != nil {
			return nil, err
		}
		ris = append(ris, asn1.RawValue{FullBytes: ri})
	}
	set, err := asn1.MarshalWithParams(ris, "set")
	if err != nil {
		return nil, err
	}
	var alg pkix.AlgorithmIdentifier
	version, outer, trailer := 0, oidAuthEnvelopedData, int64(0)
	if e.cipher == AES256GCM {
		e.nonce = make([]byte, 12)
		if _, err := rand.Read(e.nonce); err != nil {
			return nil, err
		}
		params, err := asn1.Marshal(gcmParameters{Nonce: e.nonce, ICVLen: 16})
		if err != nil {
			return nil, err
		}
		alg = pkix.AlgorithmIdentifier{Algorithm: oidAES256GCM, Parameters: asn1.RawValue{FullBytes: params}}
		e.ctLen, trailer = contentSize, 18 // the tag: OCTET STRING of 16 bytes
	} else {
		e.iv = make([]byte, aes.BlockSize)
		if _, err := rand.Read(e.iv); err != nil {
			return nil, err
		}
		ivDER, err := asn1.Marshal(e.iv)
		if err != nil {
			return nil, err
		}
		alg = pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}}
		e.ctLen = (contentSize/aes.BlockSize + 1) * aes.BlockSize
		outer = oidEnvelopedData
		if anyKari {
			version = 2 // a recipient info of version 3 (RFC 5652 §6.1)
		}
	}
	// The lengths are all known: DER, written before the content.
	dataOID, _ := asn1.Marshal(oidData)
	algDER, err := asn1.Marshal(alg)
	if err != nil {
		return nil, err
	}
	versionDER, _ := asn1.Marshal(version)
	outerOID, _ := asn1.Marshal(outer)
	eciHead := concat(dataOID, algDER, derHeader(0x80, e.ctLen))
	eciLen := int64(len(eciHead)) + e.ctLen
	eci := derHeader(0x30, eciLen)
	bodyLen := int64(len(versionDER)+len(set)+len(eci)) + eciLen + trailer
	sq := derHeader(0x30, bodyLen)
	explicit := derHeader(0xa0, int64(len(sq))+bodyLen)
	ci := derHeader(0x30, int64(len(outerOID)+len(explicit)+len(sq))+bodyLen)
	e.head = concat(ci, outerOID, explicit, sq, versionDER, set, eci, eciHead)
	return e, nil
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// derHeader is a DER identifier and definite length.
func derHeader(tag byte, n int64) []byte {
	if n < 0x80 {
		return []byte{tag, byte(n)}
	}
	var l []byte
	for ; n > 0; n >>= 8 {
		l = append([]byte{byte(n)}, l...)
	}
	return append([]byte{tag, 0x80 | byte(len(l))}, l...)
}

// Size is the envelope's length in bytes.
func (e *Encryptor) Size() int64 {
	n := int64(len(e.head)) + e.ctLen
	if e.cipher == AES256GCM {
		n += 18
	}
	return n
}

// Encrypt writes the envelope of exactly the content size's bytes read
// from content, and forgets the content key. An Encryptor makes one
// envelope.
func (e *Encryptor) Encrypt(w io.Writer, content io.Reader) error {
	if e.key == nil {
		return errors.New("envelope: an Encryptor makes one envelope")
	}
	defer func() { clear(e.key); e.key = nil }()
	block, err := aes.NewCipher(e.key)
	if err != nil {
		return err
	}
	if _, err := w.Write(e.head); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	left := e.contentSize
	var gcm *gcmStream
	var cbc cipher.BlockMode
	if e.cipher == AES256GCM {
		gcm = newGCMStream(block, e.nonce)
	} else {
		cbc = cipher.NewCBCEncrypter(block, e.iv)
	}
	for {
		n := int(min(int64(len(buf)), left))
		if _, err := io.ReadFull(content, buf[:n]); err != nil {
			return fmt.Errorf("reading the content: %w", err)
		}
		left -= int64(n)
		out := buf[:n]
		if gcm != nil {
			gcm.encrypt(out)
		} else {
			if left == 0 {
				pad := aes.BlockSize - n%aes.BlockSize
				out = append(out, bytes.Repeat([]byte{byte(pad)}, pad)...)
			}
			cbc.CryptBlocks(out, out)
		}
		if _, err := w.Write(out); err != nil {
			return err
		}
		if left == 0 {
			break
		}
	}
	if gcm != nil {
		tag := gcm.tag()
		if _, err := w.Write(append([]byte{0x04, 16}, tag[:]...)); err != nil {
			return err
		}
	}
	return nil
}

// issuerSerial is a certificate's issuerAndSerialNumber.
func issuerSerial(c *x509.Certificate) ([]byte, error) {
	return asn1.Marshal(issuerAndSerial{Issuer: asn1.RawValue{FullBytes: c.RawIssuer}, Serial: c.SerialNumber})
}

func keyTrans(c *x509.Certificate, pub *rsa.PublicKey, key []byte, padding RSAPadding) ([]byte, error) {
	rid, err := issuerSerial(c)
	if err != nil {
		return nil, err
	}
	ri := keyTransRecipientInfo{Version: 0, RID: asn1.RawValue{FullBytes: rid}}
	if padding == RSAPKCS1v15 {
		ri.KeyEncryptionAlgorithm = pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}
		// Asked for by name, for readers that know no OAEP (OpenSSL's PKCS #7
		// API, older mail programs): the default stays OAEP.
		//lint:ignore SA1019 PKCS #1 v1.5 key transport is an explicit option for old readers
		ri.EncryptedKey, err = rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	} else {
		ri.KeyEncryptionAlgorithm, err = oaepAlgorithm()
		if err == nil {
			ri.EncryptedKey, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, key, nil)
		}
	}
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(ri)
}

func oaepAlgorithm() (pkix.AlgorithmIdentifier, error) {
	sha := pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}
	shaDER, err := asn1.Marshal(sha)
	if err != nil {
		return pkix.AlgorithmIdentifier{}, err
	}
	params, err := asn1.Marshal(rsaOAEPParams{Hash: sha, MGF: pkix.AlgorithmIdentifier{Algorithm: oidMGF1, Parameters: asn1.RawValue{FullBytes: shaDER}}})
	if err != nil {
		return pkix.AlgorithmIdentifier{}, err
	}
	return pkix.AlgorithmIdentifier{Algorithm: oidRSAOAEP, Parameters: asn1.RawValue{FullBytes: params}}, nil
}

// keyAgree makes a KeyAgreeRecipientInfo: an ephemeral key on the
// recipient's curve, the KEK derived from the ECDH secret with the X9.63
// KDF over ECC-CMS-SharedInfo, the content key wrapped with it.
func keyAgree(c *x509.Certificate, pub *ecdsa.PublicKey, key []byte) ([]byte, error) {
	rpub, err := pub.ECDH()
	if err != nil {
		return nil, err
	}
	eph, err := rpub.Curve().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	z, err := eph.ECDH(rpub)
	if err != nil {
		return nil, err
	}
	kek, err := kekFor(z, nil)
	if err != nil {
		return nil, err
	}
	wrapped, err := keyWrap(kek, key)
	if err != nil {
		return nil, err
	}
	curve, err := curveOID(rpub.Curve())
	if err != nil {
		return nil, err
	}
	opk, err := asn1.Marshal(originatorPublicKey{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: curve}},
		PublicKey: asn1.BitString{Bytes: eph.PublicKey().Bytes(), BitLength: 8 * len(eph.PublicKey().Bytes())},
	})
	if err != nil {
		return nil, err
	}
	opk[0] = 0xa1 // [1] IMPLICIT originatorKey
	rid, err := issuerSerial(c)
	if err != nil {
		return nil, err
	}
	wrapAlg, err := asn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: oidAES256Wrap})
	if err != nil {
		return nil, err
	}
	kari, err := asn1.Marshal(keyAgreeRecipientInfo{
		Version:                3,
		Originator:             asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: opk},
		KeyEncryptionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidECDHSHA256KDF, Parameters: asn1.RawValue{FullBytes: wrapAlg}},
		RecipientEncryptedKeys: []recipientEncryptedKey{{RID: asn1.RawValue{FullBytes: rid}, EncryptedKey: wrapped}},
	})
	if err != nil {
		return nil, err
	}
	kari[0] = 0xa1 // [1] IMPLICIT kari in RecipientInfo
	return kari, nil
}

// kekFor derives the AES-256 key-wrap key from an ECDH secret (RFC 5753
// §7.2: X9.63 KDF, SHA-256, ECC-CMS-SharedInfo).
func kekFor(z, ukm []byte) ([]byte, error) {
	si, err := asn1.Marshal(eccCMSSharedInfo{KeyInfo: pkix.AlgorithmIdentifier{Algorithm: oidAES256Wrap}, EntityUInfo: ukm, SuppPubInfo: []byte{0, 0, 1, 0}})
	if err != nil {
		return nil, err
	}
	return x963KDF(z, si, 32), nil
}

var curveOIDs = map[ecdh.Curve]asn1.ObjectIdentifier{
	ecdh.P256(): {1, 2, 840, 10045, 3, 1, 7},
	ecdh.P384(): {1, 3, 132, 0, 34},
	ecdh.P521(): {1, 3, 132, 0, 35},
}

func curveOID(c ecdh.Curve) ([]byte, error) {
	oid, ok := curveOIDs[c]
	if !ok {
		return nil, fmt.Errorf("%w: curve %v", ErrRecipient, c)
	}
	return asn1.Marshal(oid)
}
