// Package cms builds CMS SignedData (RFC 5652) as CAdES baseline signatures
// (ETSI EN 319 122-1): detached or encapsulated content, signed attributes
// content-type, message-digest, optional signing-time and
// signing-certificate-v2, RSA PKCS#1 v1.5, RSA-PSS or ECDSA over any
// crypto.Signer, and an optional signature time-stamp. It is pure: no
// PKCS#11, no network.
package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// Object identifiers used here.
var (
	OIDData               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDTSTInfo            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	OIDAttrContentType    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	OIDAttrSigningCertV2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	OIDAttrTimeStampToken = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidRSAEncryption      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAPSS             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidECDSAWithSHA256    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidSHA256             = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384             = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512             = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// HashOID returns the digest algorithm identifier of h.
func HashOID(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	switch h {
	case crypto.SHA256:
		return oidSHA256, nil
	case crypto.SHA384:
		return oidSHA384, nil
	case crypto.SHA512:
		return oidSHA512, nil
	}
	return nil, fmt.Errorf("unsupported hash %v", h)
}

// Options tune a signature.
type Options struct {
	// Hash is the digest algorithm of the content and signed attributes.
	Hash crypto.Hash
	// PSS selects RSASSA-PSS for an RSA key (salt = hash length, MGF1
	// with the same hash); otherwise RSA keys sign PKCS#1 v1.5.
	PSS bool
	// SigningTime adds the signing-time attribute when not zero. PAdES
	// leaves it zero: the time goes into the PDF's /M instead.
	SigningTime time.Time
	// Chain are further certificates to include after the signer's.
	Chain []*x509.Certificate
	// ContentType is the eContentType; default id-data.
	ContentType asn1.ObjectIdentifier
	// Content is encapsulated when not nil; nil makes a detached
	// signature.
	Content []byte
}

// SignedData is a signature being built; add a time-stamp, then Bytes.
type SignedData struct {
	sd        signedData
	signature []byte
	hash      crypto.Hash
	unsigned  []attribute
}

// Sign signs the content whose digest (under opts.Hash) is given, as cert's
// key: signer must hold that key. signer.Sign receives the digest of the
// DER signed attributes and opts.Hash or *rsa.PSSOptions.
func Sign(digest []byte, cert *x509.Certificate, signer crypto.Signer, opts Options) (*SignedData, error) {
	if len(digest) != opts.Hash.Size() {
		return nil, fmt.Errorf("digest is %d bytes, %v needs %d", len(digest), opts.Hash, opts.Hash.Size())
	}
	hashOID, err := HashOID(opts.Hash)
	if err != nil {
		return nil, err
	}
	ctype := opts.ContentType
	if ctype == nil {
		ctype = OIDData
	}
	sigAlg, signerOpts, err := signatureAlgorithm(cert.PublicKey, opts.Hash, opts.PSS)
	if err != nil {
		return nil, err
	}
	attrs := []attribute{
		mustAttr(OIDAttrContentType, ctype),
		mustAttr(OIDAttrMessageDigest, digest),
	}
	if !opts.SigningTime.IsZero() {
		attrs = append(attrs, mustAttr(OIDAttrSigningTime, opts.SigningTime.UTC().Truncate(time.Second)))
	}
	scv2, err := signingCertificateV2(cert)
	if err != nil {
		return nil, err
	}
	attrs = append(attrs, scv2)
	signedAttrs, err := encodeSet(attrs)
	if err != nil {
		return nil, err
	}
	h := opts.Hash.New()
	h.Write(signedAttrs)
	sig, err := signer.Sign(rand.Reader, h.Sum(nil), signerOpts)
	if err != nil {
		return nil, fmt.Errorf("failed to sign: %w", err)
	}

	certs := cert.Raw
	for _, c := range opts.Chain {
		if !c.Equal(cert) {
			certs = append(slices.Clip(certs), c.Raw...)
		}
	}
	var econtent asn1.RawValue
	if opts.Content != nil {
		oct, err := asn1.Marshal(opts.Content)
		if err != nil {
			return nil, err
		}
		econtent = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: oct}
	}
	version := 1
	if !ctype.Equal(OIDData) {
		version = 3 // RFC 5652 §5.1: eContentType other than id-data
	}
	sd := signedData{
		Version:          version,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{{Algorithm: hashOID}},
		EncapContentInfo: encapContentInfo{EContentType: ctype, EContent: econtent},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs},
		SignerInfos: []signerInfo{{
			Version:            1,
			SID:                issuerAndSerial{Issuer: asn1.RawValue{FullBytes: cert.RawIssuer}, Serial: cert.SerialNumber},
			DigestAlgorithm:    pkix.AlgorithmIdentifier{Algorithm: hashOID},
			SignedAttrs:        asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: setContent(signedAttrs)},
			SignatureAlgorithm: sigAlg,
			Signature:          sig,
		}},
	}
	return &SignedData{sd: sd, signature: sig, hash: opts.Hash}, nil
}

// Signature returns the signature value: what an RFC 3161 signature
// time-stamp covers.
func (s *SignedData) Signature() []byte { return s.signature }

// AddTimestamp adds a signature-time-stamp unsigned attribute holding the
// DER TimeStampToken.
func (s *SignedData) AddTimestamp(token []byte) error {
	return s.addUnsigned(attribute{Type: OIDAttrTimeStampToken, Values: asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: token}})
}

// TimestampToken returns the signature time-stamp added, or nil.
func (s *SignedData) TimestampToken() []byte {
	for _, a := range s.unsigned {
		if a.Type.Equal(OIDAttrTimeStampToken) {
			return a.Values.Bytes
		}
	}
	return nil
}

// addUnsigned appends an unsigned attribute and re-encodes the set.
func (s *SignedData) addUnsigned(a attribute) error {
	s.unsigned = append(s.unsigned, a)
	set, err := encodeSet(s.unsigned)
	if err != nil {
		return err
	}
	s.sd.SignerInfos[0].UnsignedAttrs = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: setContent(set)}
	return nil
}

// Bytes returns the DER ContentInfo.
func (s *SignedData) Bytes() ([]byte, error) {
	inner, err := asn1.Marshal(s.sd)
	if err != nil {
		return nil, fmt.Errorf("failed to encode SignedData: %w", err)
	}
	return asn1.Marshal(contentInfo{
		ContentType: OIDSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner},
	})
}

func signatureAlgorithm(pub crypto.PublicKey, h crypto.Hash, pss bool) (pkix.AlgorithmIdentifier, crypto.SignerOpts, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		if !pss {
			return pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}, h, nil
		}
		hashOID, _ := HashOID(h)
		hashAlg := pkix.AlgorithmIdentifier{Algorithm: hashOID, Parameters: asn1.NullRawValue}
		mgfParams, _ := asn1.Marshal(hashAlg)
		params, err := asn1.Marshal(pssParams{
			Hash:       hashAlg,
			MGF:        pkix.AlgorithmIdentifier{Algorithm: oidMGF1, Parameters: asn1.RawValue{FullBytes: mgfParams}},
			SaltLength: h.Size(),
		})
		if err != nil {
			return pkix.AlgorithmIdentifier{}, nil, err
		}
		return pkix.AlgorithmIdentifier{Algorithm: oidRSAPSS, Parameters: asn1.RawValue{FullBytes: params}},
			&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}, nil
	case *ecdsa.PublicKey:
		if pss {
			return pkix.AlgorithmIdentifier{}, nil, errors.New("RSA-PSS needs an RSA key")
		}
		oid := map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA256: oidECDSAWithSHA256, crypto.SHA384: oidECDSAWithSHA384, crypto.SHA512: oidECDSAWithSHA512}[h]
		return pkix.AlgorithmIdentifier{Algorithm: oid}, h, nil
	}
	return pkix.AlgorithmIdentifier{}, nil, fmt.Errorf("unsupported key type %T", pub)
}

// signingCertificateV2 is the ESS attribute of RFC 5035 that binds the
// signer certificate (SHA-256 hash, the default, so no algorithm field).
func signingCertificateV2(cert *x509.Certificate) (attribute, error) {
	sum := sha256.Sum256(cert.Raw)
	gn := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: cert.RawIssuer}
	gnSeq, err := asn1.Marshal([]asn1.RawValue{gn})
	if err != nil {
		return attribute{}, err
	}
	v := signingCertV2{Certs: []essCertIDv2{{
		CertHash:     sum[:],
		IssuerSerial: issuerSerial{Issuer: asn1.RawValue{FullBytes: gnSeq}, Serial: cert.SerialNumber},
	}}}
	return mustAttr(OIDAttrSigningCertV2, v), nil
}

// ASN.1 structures of RFC 5652, RFC 5035 and RFC 4055.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"optional"`
}

type signerInfo struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

type signingCertV2 struct {
	Certs []essCertIDv2
}

type essCertIDv2 struct {
	CertHash     []byte
	IssuerSerial issuerSerial
}

type issuerSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type pssParams struct {
	Hash       pkix.AlgorithmIdentifier `asn1:"explicit,tag:0"`
	MGF        pkix.AlgorithmIdentifier `asn1:"explicit,tag:1"`
	SaltLength int                      `asn1:"explicit,tag:2"`
}

// mustAttr encodes a single-valued attribute; v is one of our own values,
// so encoding cannot fail.
func mustAttr(oid asn1.ObjectIdentifier, v any) attribute {
	der, err := asn1.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("cms: encoding attribute %v: %v", oid, err))
	}
	return attribute{Type: oid, Values: asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: der}}
}

// encodeSet returns the DER SET OF the attributes, sorted as DER requires.
func encodeSet(attrs []attribute) ([]byte, error) {
	enc := make([][]byte, len(attrs))
	for i, a := range attrs {
		der, err := asn1.Marshal(a)
		if err != nil {
			return nil, err
		}
		enc[i] = der
	}
	slices.SortFunc(enc, bytes.Compare)
	return asn1.Marshal(asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(enc, nil)})
}

// setContent strips the SET header, leaving the content octets that an
// IMPLICIT [0] or [1] carries.
func setContent(set []byte) []byte {
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(set, &rv); err != nil {
		panic("cms: re-reading our own SET: " + err.Error())
	}
	return rv.Bytes
}

// SizeBound returns an upper bound of the DER size of a signature by
// cert's key that carries cert and chain, without a time-stamp: what a
// PDF's /Contents must reserve before the signature exists.
func SizeBound(cert *x509.Certificate, chain []*x509.Certificate) int {
	n := len(cert.Raw)
	for _, c := range chain {
		n += len(c.Raw)
	}
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		n += k.Size() + 64 // PSS parameters
	case *ecdsa.PublicKey:
		n += 2*((k.Curve.Params().BitSize+7)/8) + 16
	default:
		n += 1024
	}
	// Signed attributes with the issuer's name, algorithm identifiers and
	// the SignedData structure.
	return n + len(cert.RawIssuer) + 1024
}
