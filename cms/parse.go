package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// ErrMalformed wraps a CMS that cannot be read.
var ErrMalformed = errors.New("malformed CMS")

// Parsed is a SignedData read back for verification.
type Parsed struct {
	// ContentType is the eContentType; Content the encapsulated content
	// (nil when detached).
	ContentType asn1.ObjectIdentifier
	Content     []byte
	// Certificates are those the SignedData carries.
	Certificates []*x509.Certificate
	// Signers are the signer infos.
	Signers []*Signer
}

// Signer is one parsed SignerInfo.
type Signer struct {
	// Cert is the certificate the SignerInfo names, when carried.
	Cert *x509.Certificate
	// Hash is the digest algorithm.
	Hash crypto.Hash
	// MessageDigest, SigningTime (zero when absent) and ContentType come
	// from the signed attributes.
	MessageDigest []byte
	SigningTime   time.Time
	ContentType   asn1.ObjectIdentifier
	// SigningCertHash is the SHA-256 of signing-certificate-v2, or nil.
	SigningCertHash []byte
	// Signature is the signature value.
	Signature []byte
	// TimeStampToken is the signature time-stamp, or nil.
	TimeStampToken []byte
	// CertValues, CRLValues and OCSPValues are the CAdES-LT unsigned
	// attributes (OCSP answers as full DER OCSPResponses).
	CertValues, CRLValues, OCSPValues [][]byte

	signedAttrs []byte // DER SET, as signed
	sigAlg      asn1.ObjectIdentifier
	sigParams   asn1.RawValue
}

// Parse reads a DER ContentInfo holding SignedData.
func Parse(der []byte) (*Parsed, error) {
	p, err := parseDER(der)
	if err == nil {
		return p, nil
	}
	// Signers such as NSS write BER; the signed attributes inside are DER
	// either way, so converting keeps the bytes their signature covers.
	if d, cerr := toDER(der); cerr == nil && !bytes.Equal(d, der) {
		return parseDER(d)
	}
	return nil, err
}

func parseDER(der []byte) (*Parsed, error) {
	var ci contentInfo
	if rest, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	} else if len(bytes.TrimRight(rest, "\x00")) > 0 {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformed)
	}
	if !ci.ContentType.Equal(OIDSignedData) {
		return nil, fmt.Errorf("%w: not SignedData", ErrMalformed)
	}
	var sd struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		EncapContentInfo struct {
			EContentType asn1.ObjectIdentifier
			EContent     asn1.RawValue `asn1:"optional,tag:0"`
		}
		Certificates asn1.RawValue `asn1:"optional,tag:0"`
		CRLs         asn1.RawValue `asn1:"optional,tag:1"`
		SignerInfos  []struct {
			Version            int
			SID                asn1.RawValue
			DigestAlgorithm    algorithm
			SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
			SignatureAlgorithm algorithm
			Signature          []byte
			UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
		} `asn1:"set"`
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	p := &Parsed{ContentType: sd.EncapContentInfo.EContentType}
	if len(sd.EncapContentInfo.EContent.Bytes) > 0 {
		var oct []byte
		if _, err := asn1.Unmarshal(sd.EncapContentInfo.EContent.Bytes, &oct); err != nil {
			return nil, fmt.Errorf("%w: eContent: %v", ErrMalformed, err)
		}
		p.Content = oct
	}
	rest := sd.Certificates.Bytes
	for len(rest) > 0 {
		var raw asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &raw); err != nil {
			return nil, fmt.Errorf("%w: certificates: %v", ErrMalformed, err)
		}
		if raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagSequence {
			if c, err := x509.ParseCertificate(raw.FullBytes); err == nil {
				p.Certificates = append(p.Certificates, c)
			}
		}
	}
	for _, si := range sd.SignerInfos {
		s := &Signer{Signature: si.Signature, sigAlg: si.SignatureAlgorithm.Algorithm, sigParams: si.SignatureAlgorithm.Parameters}
		s.Hash = hashOf(si.DigestAlgorithm.Algorithm)
		if s.Hash == 0 {
			return nil, fmt.Errorf("%w: unsupported digest algorithm %v", ErrMalformed, si.DigestAlgorithm.Algorithm)
		}
		s.Cert = findSigner(si.SID, p.Certificates)
		if len(si.SignedAttrs.FullBytes) == 0 {
			return nil, fmt.Errorf("%w: no signed attributes (not a CAdES signature)", ErrMalformed)
		}
		// The signature covers the attributes as an explicit SET.
		s.signedAttrs = append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
		attrs, err := attributes(si.SignedAttrs.Bytes)
		if err != nil {
			return nil, err
		}
		for _, a := range attrs {
			v := a.first()
			switch {
			case a.Type.Equal(OIDAttrMessageDigest):
				asn1.Unmarshal(v, &s.MessageDigest)
			case a.Type.Equal(OIDAttrContentType):
				asn1.Unmarshal(v, &s.ContentType)
			case a.Type.Equal(OIDAttrSigningTime):
				asn1.Unmarshal(v, &s.SigningTime)
			case a.Type.Equal(OIDAttrSigningCertV2):
				var scv2 struct {
					Certs []struct {
						Alg  algorithm `asn1:"optional"`
						Hash []byte
					}
				}
				// Only the default SHA-256 form is read.
				var plain struct{ Certs []essCertIDv2 }
				if _, err := asn1.Unmarshal(v, &plain); err == nil && len(plain.Certs) > 0 {
					s.SigningCertHash = plain.Certs[0].CertHash
				} else if _, err := asn1.Unmarshal(v, &scv2); err == nil && len(scv2.Certs) > 0 {
					s.SigningCertHash = scv2.Certs[0].Hash
				}
			}
		}
		if len(si.UnsignedAttrs.Bytes) > 0 {
			attrs, err := attributes(si.UnsignedAttrs.Bytes)
			if err != nil {
				return nil, err
			}
			for _, a := range attrs {
				v := a.first()
				switch {
				case a.Type.Equal(OIDAttrTimeStampToken):
					s.TimeStampToken = v
				case a.Type.Equal(OIDAttrCertValues):
					var vals []asn1.RawValue
					asn1.Unmarshal(v, &vals)
					for _, c := range vals {
						s.CertValues = append(s.CertValues, c.FullBytes)
					}
				case a.Type.Equal(OIDAttrRevocationValues):
					var rv revocationValues
					asn1.Unmarshal(v, &rv)
					for _, c := range rv.CRLs {
						s.CRLValues = append(s.CRLValues, c.FullBytes)
					}
					for _, o := range rv.OCSPs {
						if full, err := WrapOCSP(o.FullBytes); err == nil {
							s.OCSPValues = append(s.OCSPValues, full)
						}
					}
				}
			}
		}
		p.Signers = append(p.Signers, s)
	}
	if len(p.Signers) == 0 {
		return nil, fmt.Errorf("%w: no signer", ErrMalformed)
	}
	return p, nil
}

type algorithm struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type rawAttribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

func (a rawAttribute) first() []byte {
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(a.Values.Bytes, &v); err != nil {
		return nil
	}
	return v.FullBytes
}

func attributes(b []byte) ([]rawAttribute, error) {
	var out []rawAttribute
	for len(b) > 0 {
		var a rawAttribute
		var err error
		if b, err = asn1.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("%w: attributes: %v", ErrMalformed, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func hashOf(oid asn1.ObjectIdentifier) crypto.Hash {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256
	case oid.Equal(oidSHA384):
		return crypto.SHA384
	case oid.Equal(oidSHA512):
		return crypto.SHA512
	}
	return 0
}

// findSigner returns the certificate a SignerIdentifier names.
func findSigner(sid asn1.RawValue, certs []*x509.Certificate) *x509.Certificate {
	if sid.Class == asn1.ClassContextSpecific && sid.Tag == 0 { // subjectKeyIdentifier
		for _, c := range certs {
			if bytes.Equal(c.SubjectKeyId, sid.Bytes) {
				return c
			}
		}
		return nil
	}
	var ias struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}
	if _, err := asn1.Unmarshal(sid.FullBytes, &ias); err != nil {
		return nil
	}
	for _, c := range certs {
		if bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(ias.Serial) == 0 {
			return c
		}
	}
	return nil
}

// Errors of Verify.
var (
	ErrNoSignerCert  = errors.New("the signer's certificate is not in the signature")
	ErrDigest        = errors.New("the content does not match the signed digest: it was changed after signing")
	ErrSignature     = errors.New("the signature value does not verify")
	ErrSigningCertV2 = errors.New("signing-certificate-v2 does not name the signer's certificate")
)

// Verify checks that the signer signed digest (the content's digest under
// s.Hash): the message-digest attribute matches, the signature over the
// signed attributes verifies with the signer's key, and
// signing-certificate-v2, when present, names that certificate.
func (s *Signer) Verify(digest []byte) error {
	if s.Cert == nil {
		return ErrNoSignerCert
	}
	if !bytes.Equal(digest, s.MessageDigest) {
		return ErrDigest
	}
	if s.SigningCertHash != nil {
		sum := sha256.Sum256(s.Cert.Raw)
		if !bytes.Equal(sum[:], s.SigningCertHash) {
			return ErrSigningCertV2
		}
	}
	return s.verifySignature()
}

func (s *Signer) verifySignature() error {
	h := s.Hash
	switch {
	case s.sigAlg.Equal(oidECDSAWithSHA256):
		h = crypto.SHA256
	case s.sigAlg.Equal(oidECDSAWithSHA384):
		h = crypto.SHA384
	case s.sigAlg.Equal(oidECDSAWithSHA512):
		h = crypto.SHA512
	case s.sigAlg.Equal(oidRSAPSS):
		var pp struct {
			Hash algorithm `asn1:"explicit,tag:0"`
		}
		if _, err := asn1.Unmarshal(s.sigParams.FullBytes, &pp); err == nil {
			if ph := hashOf(pp.Hash.Algorithm); ph != 0 {
				h = ph
			}
		}
	}
	d := h.New()
	d.Write(s.signedAttrs)
	sum := d.Sum(nil)
	switch k := s.Cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if s.sigAlg.Equal(oidRSAPSS) {
			if rsa.VerifyPSS(k, h, sum, s.Signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: h}) != nil {
				return ErrSignature
			}
			return nil
		}
		if rsa.VerifyPKCS1v15(k, h, sum, s.Signature) != nil {
			return ErrSignature
		}
		return nil
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, sum, s.Signature) {
			return ErrSignature
		}
		return nil
	}
	return fmt.Errorf("%w: unsupported key type %T", ErrSignature, s.Cert.PublicKey)
}
