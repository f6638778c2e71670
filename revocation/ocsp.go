// Package revocation finds whether a certificate is revoked: by OCSP (RFC
// 6960, with a nonce and responder authorisation, including delegated
// responders) with a CRL (RFC 5280) fallback. Answers are verified, kept
// until their nextUpdate and shared by concurrent callers, so a batch
// fetches once per certificate. Network access goes through an injected
// *http.Client with bounded answers; the package is otherwise pure, and its
// parsers check embedded answers offline for the verifier.
package revocation

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/ocsp"
)

var (
	oidNonce       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidOCSPSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 9}
	oidSHA1        = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}
)

// Skew is how far a responder's clock may be ahead or behind ours.
const Skew = 5 * time.Minute

// maxAgeNoNext is how old an answer without nextUpdate may be.
const maxAgeNoNext = 24 * time.Hour

// ocspRequest is RFC 6960's OCSPRequest with one request and a nonce.
type ocspRequest struct {
	TBS tbsRequest
}

type tbsRequest struct {
	RequestList []singleRequest
	Extensions  []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type singleRequest struct {
	CertID certID
}

type certID struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	KeyHash       []byte
	Serial        *big.Int
}

// NewCertID returns the SHA-1 CertID of cert under issuer (SHA-1 is what
// every responder answers for; it names the certificate, it secures
// nothing).
func newCertID(cert, issuer *x509.Certificate) (certID, error) {
	var spki struct {
		Alg pkix.AlgorithmIdentifier
		Key asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return certID{}, err
	}
	nh := sha1.Sum(issuer.RawSubject)
	kh := sha1.Sum(spki.Key.RightAlign())
	return certID{
		HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA1, Parameters: asn1.NullRawValue},
		NameHash:      nh[:], KeyHash: kh[:], Serial: cert.SerialNumber,
	}, nil
}

// newOCSPRequest returns a DER request for cert with a fresh nonce.
func newOCSPRequest(cert, issuer *x509.Certificate) (der, nonce []byte, err error) {
	id, err := newCertID(cert, issuer)
	if err != nil {
		return nil, nil, err
	}
	nonce = make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	val, err := asn1.Marshal(nonce)
	if err != nil {
		return nil, nil, err
	}
	der, err = asn1.Marshal(ocspRequest{TBS: tbsRequest{
		RequestList: []singleRequest{{CertID: id}},
		Extensions:  []pkix.Extension{{Id: oidNonce, Value: val}},
	}})
	return der, nonce, err
}

// responseNonce returns the nonce in a basic OCSP response's
// responseExtensions, or nil.
func responseNonce(raw []byte) []byte {
	var resp struct {
		Status asn1.Enumerated
		Bytes  struct {
			Type     asn1.ObjectIdentifier
			Response []byte
		} `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(raw, &resp); err != nil {
		return nil
	}
	var basic struct {
		TBS asn1.RawValue
	}
	if _, err := asn1.Unmarshal(resp.Bytes.Response, &basic); err != nil {
		return nil
	}
	var tbs struct {
		Version     int `asn1:"optional,explicit,default:0,tag:0"`
		ResponderID asn1.RawValue
		ProducedAt  time.Time `asn1:"generalized"`
		Responses   asn1.RawValue
		Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
	}
	if _, err := asn1.Unmarshal(basic.TBS.FullBytes, &tbs); err != nil {
		return nil
	}
	for _, e := range tbs.Extensions {
		if e.Id.Equal(oidNonce) {
			var n []byte
			if _, err := asn1.Unmarshal(e.Value, &n); err == nil {
				return n
			}
			return e.Value // some responders put the raw bytes
		}
	}
	return nil
}

// ParseOCSP verifies an OCSP answer for cert issued by issuer, as of at:
// the responder is the issuer itself or a delegated responder the issuer
// certified for OCSP signing (valid at the answer's production), the
// answer names cert, and at lies within [thisUpdate - Skew, nextUpdate +
// Skew] (for an answer with no nextUpdate: thisUpdate at most a day before
// at). A zero at skips the freshness check (an archived answer checked for
// what it said then). The responder's certificate, when delegated, is in
// the result for the validation data.
func ParseOCSP(raw []byte, cert, issuer *x509.Certificate, at time.Time) (*Result, error) {
	resp, err := ocsp.ParseResponseForCert(raw, cert, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: OCSP answer: %w", ErrBadAnswer, err)
	}
	if resp.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		return nil, fmt.Errorf("%w: the OCSP answer is for another certificate", ErrBadAnswer)
	}
	var delegated *x509.Certificate
	switch {
	case resp.Certificate == nil || resp.Certificate.Equal(issuer):
		if err := resp.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("%w: the OCSP answer is not signed by the issuer %q: %w", ErrBadAnswer, issuer.Subject.CommonName, err)
		}
	default:
		r := resp.Certificate
		if err := r.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("%w: the OCSP responder %q is not certified by the issuer %q", ErrBadAnswer, r.Subject.CommonName, issuer.Subject.CommonName)
		}
		if !hasOCSPSigning(r) {
			return nil, fmt.Errorf("%w: the OCSP responder %q is not authorised to sign OCSP answers (no id-kp-OCSPSigning)", ErrBadAnswer, r.Subject.CommonName)
		}
		if resp.ProducedAt.Before(r.NotBefore.Add(-Skew)) || resp.ProducedAt.After(r.NotAfter.Add(Skew)) {
			return nil, fmt.Errorf("%w: the OCSP responder's certificate was not valid when it answered", ErrBadAnswer)
		}
		delegated = r
	}
	if !at.IsZero() {
		if resp.ThisUpdate.After(at.Add(Skew)) {
			return nil, fmt.Errorf("%w: the OCSP answer's thisUpdate %v is in the future", ErrBadAnswer, resp.ThisUpdate)
		}
		if resp.NextUpdate.IsZero() {
			if at.Sub(resp.ThisUpdate) > maxAgeNoNext {
				return nil, fmt.Errorf("%w: the OCSP answer of %v is stale", ErrBadAnswer, resp.ThisUpdate)
			}
		} else if at.After(resp.NextUpdate.Add(Skew)) {
			return nil, fmt.Errorf("%w: the OCSP answer expired at %v", ErrBadAnswer, resp.NextUpdate)
		}
	}
	r := &Result{Source: SourceOCSP, ThisUpdate: resp.ThisUpdate, NextUpdate: resp.NextUpdate, ProducedAt: resp.ProducedAt, OCSP: raw, Responder: delegated}
	switch resp.Status {
	case ocsp.Good:
		r.Status = Good
	case ocsp.Revoked:
		r.Status, r.RevokedAt, r.Reason = Revoked, resp.RevokedAt, resp.RevocationReason
	default:
		r.Status = Unknown
	}
	return r, nil
}

func hasOCSPSigning(c *x509.Certificate) bool {
	if slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
		return true
	}
	for _, u := range c.UnknownExtKeyUsage {
		if u.Equal(oidOCSPSigning) {
			return true
		}
	}
	return false
}

// NoCheck reports whether c carries id-pkix-ocsp-nocheck: a delegated
// responder whose own status is not checked (RFC 6960 §4.2.2.2.1).
func NoCheck(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidOCSPNoCheck) {
			return true
		}
	}
	return false
}

// checkNonce refuses an answer whose nonce is not the one we sent. An
// answer without a nonce is accepted (RFC 8954: many responders serve
// pre-produced answers) when it is fresh, which ParseOCSP checks.
func checkNonce(raw, nonce []byte) error {
	if n := responseNonce(raw); n != nil && !bytes.Equal(n, nonce) {
		return fmt.Errorf("%w: the OCSP answer's nonce is not ours (a replayed answer)", ErrBadAnswer)
	}
	return nil
}

// ErrBadAnswer wraps an OCSP answer or CRL that cannot be trusted.
var ErrBadAnswer = errors.New("unusable revocation answer")
