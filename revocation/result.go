package revocation

import (
	"crypto/x509"
	"fmt"
	"time"
)

// Status is what a revocation answer says of a certificate.
type Status int

// The statuses.
const (
	Good Status = iota
	Revoked
	Unknown
)

// String names the status as the protocol does: good, revoked, unknown.
func (s Status) String() string {
	switch s {
	case Good:
		return "good"
	case Revoked:
		return "revoked"
	}
	return "unknown"
}

// Sources of an answer.
const (
	SourceOCSP = "ocsp"
	SourceCRL  = "crl"
)

// Result is a verified answer about one certificate.
type Result struct {
	Status Status
	// RevokedAt and Reason (an RFC 5280 CRLReason code) are set when
	// Revoked.
	RevokedAt time.Time
	Reason    int
	// Source is SourceOCSP or SourceCRL.
	Source string
	// ThisUpdate and NextUpdate bound the answer's validity; NextUpdate
	// may be zero.
	ThisUpdate, NextUpdate time.Time
	// ProducedAt is when an OCSP answer was signed.
	ProducedAt time.Time
	// OCSP or CRL is the raw DER answer, for validation data.
	OCSP, CRL []byte
	// Responder is a delegated OCSP responder's certificate, else nil.
	Responder *x509.Certificate
}

// ReasonText names an RFC 5280 CRLReason code.
func ReasonText(code int) string {
	names := map[int]string{
		0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged",
		4: "superseded", 5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL",
		9: "privilegeWithdrawn", 10: "aACompromise",
	}
	if n, ok := names[code]; ok {
		return n
	}
	return fmt.Sprintf("reason %d", code)
}

// GoodAt reports whether the answer shows the certificate unrevoked at t:
// good, or revoked only after t (the signature was made before). A CRL or
// OCSP answer produced before t says nothing about t beyond its own time;
// callers that need proof after t check ThisUpdate themselves.
func (r *Result) GoodAt(t time.Time) bool {
	switch r.Status {
	case Good:
		return true
	case Revoked:
		return r.RevokedAt.After(t)
	}
	return false
}

// ParseCRL verifies a DER CRL signed by issuer and returns what it says of
// cert. A zero at skips the freshness check.
func ParseCRL(raw []byte, cert, issuer *x509.Certificate, at time.Time) (*Result, error) {
	crl, err := x509.ParseRevocationList(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: CRL: %w", ErrBadAnswer, err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("%w: the CRL is not signed by the issuer %q: %w", ErrBadAnswer, issuer.Subject.CommonName, err)
	}
	if !at.IsZero() {
		if crl.ThisUpdate.After(at.Add(Skew)) {
			return nil, fmt.Errorf("%w: the CRL's thisUpdate %v is in the future", ErrBadAnswer, crl.ThisUpdate)
		}
		if !crl.NextUpdate.IsZero() && at.After(crl.NextUpdate.Add(Skew)) {
			return nil, fmt.Errorf("%w: the CRL expired at %v", ErrBadAnswer, crl.NextUpdate)
		}
	}
	r := &Result{Status: Good, Source: SourceCRL, ThisUpdate: crl.ThisUpdate, NextUpdate: crl.NextUpdate, CRL: raw}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			r.Status, r.RevokedAt, r.Reason = Revoked, e.RevocationTime, e.ReasonCode
			break
		}
	}
	return r, nil
}
