// Package verify validates signed PDFs (PAdES) and CMS signatures (CAdES)
// as an archive or a recipient would: for every signature and document
// time-stamp it checks integrity, the signer's chain to a trust anchor at
// the time the signature provably existed, the revocation status at that
// time (from embedded data, or online when allowed), the baseline level
// reached, and whether the document was changed afterwards in a way the
// signature does not allow. It is pure over its inputs: trust anchors and
// the (optional) revocation client are injected.
package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/revocation"
	"github.com/tte-agent/tte-agent/trust"
)

// Options configure a verification.
type Options struct {
	// Trust holds the trust anchors (required).
	Trust *trust.Store
	// Online, when not nil, fetches revocation data the documents lack.
	Online *revocation.Checker
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Kinds of signature.
const (
	KindSignature    = "signature"
	KindDocTimestamp = "document-timestamp"
)

// Check is one verdict with what it rests on.
type Check struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Signature is the report on one signature or document time-stamp.
type Signature struct {
	// Field is the PDF field's name; empty for CMS.
	Field string `json:"field,omitempty"`
	Kind  string `json:"kind"`
	// Signer is the signer's (or TSA's) common name; Subject the whole
	// distinguished name.
	Signer  string `json:"signer"`
	Subject string `json:"subject"`
	// ClaimedTime is /M or signing-time; TimestampTime the time a valid
	// signature (or document) time-stamp proves.
	ClaimedTime   *time.Time `json:"claimedTime,omitempty"`
	TimestampTime *time.Time `json:"timestampTime,omitempty"`
	Integrity     Check      `json:"integrity"`
	// Timestamp is the signature time-stamp's own verdict, when there is
	// one.
	Timestamp *Check `json:"timestamp,omitempty"`
	Chain     Check  `json:"chain"`
	// ChainSubjects runs from the signer to the trust anchor.
	ChainSubjects []string `json:"chainSubjects,omitempty"`
	// Revocation is the status at the time the signature existed; Source
	// says "embedded" or "online".
	Revocation       Check  `json:"revocation"`
	RevocationSource string `json:"revocationSource,omitempty"`
	// Unchanged says the document was not changed after this signature
	// in a way it does not allow (PDF only).
	Unchanged Check `json:"unchanged"`
	// CoversWholeFile is true for the last revision's signature.
	CoversWholeFile bool `json:"coversWholeFile"`
	// Level is the PAdES/CAdES baseline level reached: B-B, B-T, B-LT,
	// B-LTA, or "" when the signature is not valid.
	Level string `json:"level,omitempty"`
	Valid bool   `json:"valid"`
}

// Report is the verdict on one file.
type Report struct {
	File   string `json:"file"`
	Format string `json:"format"` // "pdf" or "cms"
	// Error says why the file could not be read at all.
	Error      string      `json:"error,omitempty"`
	Signatures []Signature `json:"signatures"`
	// Valid is true when the file has signatures and every one is valid.
	Valid bool `json:"valid"`
}

func (r *Report) finish() {
	r.Valid = r.Error == "" && len(r.Signatures) > 0
	for _, s := range r.Signatures {
		r.Valid = r.Valid && s.Valid
	}
}

// evidence is validation data found in the document.
type evidence struct {
	certs       []*x509.Certificate
	ocsps, crls [][]byte
}

func (e *evidence) addCerts(ders [][]byte) {
	for _, d := range ders {
		if c, err := x509.ParseCertificate(d); err == nil && !slices.ContainsFunc(e.certs, c.Equal) {
			e.certs = append(e.certs, c)
		}
	}
}

// status finds what the evidence (or, allowed, the network) says of cert
// at t: ok when unrevoked then. embedded reports whether the answer came
// from the document.
func (o Options) status(ctx context.Context, ev *evidence, cert, issuer *x509.Certificate, t time.Time) (ok, embedded bool, detail string) {
	var found *revocation.Result
	try := func(r *revocation.Result, err error) {
		if err != nil || r == nil || r.Status == revocation.Unknown {
			return
		}
		// An answer speaks for t when it was made after t (a revocation
		// is for good), or was current at t: t within [thisUpdate,
		// nextUpdate], or, without nextUpdate, at most a day after
		// thisUpdate.
		made := !r.ThisUpdate.Before(t.Add(-revocation.Skew))
		current := !t.Before(r.ThisUpdate.Add(-revocation.Skew)) &&
			(r.NextUpdate.IsZero() && t.Sub(r.ThisUpdate) <= 24*time.Hour || !r.NextUpdate.IsZero() && !t.After(r.NextUpdate.Add(revocation.Skew)))
		if made || current {
			if found == nil || r.Status == revocation.Revoked {
				found = r
			}
		}
	}
	for _, raw := range ev.ocsps {
		try(revocation.ParseOCSP(raw, cert, issuer, time.Time{}))
	}
	for _, raw := range ev.crls {
		try(revocation.ParseCRL(raw, cert, issuer, time.Time{}))
	}
	if found != nil {
		embedded = true
	} else if o.Online != nil {
		r, err := o.Online.Check(ctx, cert, issuer)
		if err != nil {
			return false, false, err.Error()
		}
		found = r
	} else {
		return false, false, fmt.Sprintf("no revocation data for %q in the document (verify with --online to fetch it)", cert.Subject.CommonName)
	}
	if found.Status == revocation.Revoked && !found.RevokedAt.After(t) {
		return false, embedded, fmt.Sprintf("%q was revoked on %s (%s), before the signature's time", cert.Subject.CommonName, found.RevokedAt.UTC().Format(time.RFC3339), revocation.ReasonText(found.Reason))
	}
	if found.Status == revocation.Unknown {
		return false, embedded, fmt.Sprintf("the status of %q is unknown", cert.Subject.CommonName)
	}
	return true, embedded, ""
}

// chainStatus checks a chain's revocation at t, skipping the anchor and
// OCSP responders that need no check. allEmbedded reports whether every
// answer came from the document.
func (o Options) chainStatus(ctx context.Context, ev *evidence, chain []*x509.Certificate, t time.Time) (Check, bool) {
	all := true
	for i := 0; i < len(chain)-1; i++ {
		if revocation.NoCheck(chain[i]) {
			continue
		}
		ok, embedded, detail := o.status(ctx, ev, chain[i], chain[i+1], t)
		if !ok {
			return Check{Detail: detail}, false
		}
		all = all && embedded
	}
	return Check{OK: true}, all
}

// tokenResult is a verified RFC 3161 token.
type tokenResult struct {
	time        time.Time
	check       Check
	chain       []*x509.Certificate
	revocation  Check
	allEmbedded bool
	signer      *x509.Certificate
}

// verifyToken checks an RFC 3161 token over data's digest (imprint):
// signature, imprint, the TSA's chain at the token's time and its
// revocation.
func (o Options) verifyToken(ctx context.Context, ev *evidence, tok []byte, imprint func(h crypto.Hash) []byte) *tokenResult {
	res := &tokenResult{}
	ts, err := timestamp.Parse(tok)
	if err != nil {
		res.check = Check{Detail: fmt.Sprintf("the time-stamp cannot be read or its signature is wrong: %v", err)}
		return res
	}
	p, err := cms.Parse(tok)
	if err != nil || p.Signers[0].Cert == nil {
		res.check = Check{Detail: "the time-stamp does not carry its TSA's certificate"}
		return res
	}
	res.signer = p.Signers[0].Cert
	if !ts.HashAlgorithm.Available() || !bytes.Equal(ts.HashedMessage, imprint(ts.HashAlgorithm)) {
		res.check = Check{Detail: "the time-stamp stamps something else (its message imprint does not match)"}
		return res
	}
	if !slices.Contains(res.signer.ExtKeyUsage, x509.ExtKeyUsageTimeStamping) {
		res.check = Check{Detail: fmt.Sprintf("%q is not a time-stamping authority (no timeStamping key usage)", res.signer.Subject.CommonName)}
		return res
	}
	res.time = ts.Time
	chain, err := o.Trust.Chain(ctx, res.signer, append(slices.Clone(p.Certificates), ev.certs...), ts.Time)
	if err != nil {
		res.check = Check{Detail: fmt.Sprintf("the time-stamping authority: %v", err)}
		return res
	}
	res.chain = chain
	res.revocation, res.allEmbedded = o.chainStatus(ctx, ev, chain, ts.Time)
	if !res.revocation.OK {
		res.check = Check{Detail: "the time-stamping authority: " + res.revocation.Detail}
		return res
	}
	res.check = Check{OK: true}
	return res
}

// verifySigner checks a CAdES signer over digest (the content's, under
// s.Hash) and fills sig; it returns whether the chain and revocation data
// were all embedded (for B-LT).
func (o Options) verifySigner(ctx context.Context, ev *evidence, p *cms.Parsed, s *cms.Signer, digest []byte, sig *Signature) (ltComplete bool) {
	if s.Cert == nil {
		sig.Integrity = Check{Detail: "the signature does not carry its signer's certificate"}
		return false
	}
	sig.Signer, sig.Subject = s.Cert.Subject.CommonName, s.Cert.Subject.String()
	if !s.SigningTime.IsZero() && sig.ClaimedTime == nil {
		t := s.SigningTime
		sig.ClaimedTime = &t
	}
	if err := s.Verify(digest); err != nil {
		sig.Integrity = Check{Detail: err.Error()}
		return false
	}
	sig.Integrity = Check{OK: true}
	ev.addCerts(s.CertValues)
	ev.crls = append(ev.crls, s.CRLValues...)
	ev.ocsps = append(ev.ocsps, s.OCSPValues...)

	at := o.now()
	if sig.ClaimedTime != nil {
		at = *sig.ClaimedTime
	}
	tsaComplete := true
	if s.TimeStampToken != nil {
		tr := o.verifyToken(ctx, ev, s.TimeStampToken, func(h crypto.Hash) []byte {
			d := h.New()
			d.Write(s.Signature)
			return d.Sum(nil)
		})
		c := tr.check
		sig.Timestamp = &c
		if c.OK {
			t := tr.time
			sig.TimestampTime, at = &t, t
			tsaComplete = tr.allEmbedded
		}
	}
	chain, err := o.Trust.Chain(ctx, s.Cert, append(slices.Clone(p.Certificates), ev.certs...), at)
	if err != nil {
		sig.Chain = Check{Detail: err.Error()}
		return false
	}
	sig.Chain = Check{OK: true}
	for _, c := range chain {
		sig.ChainSubjects = append(sig.ChainSubjects, c.Subject.String())
	}
	var embedded bool
	sig.Revocation, embedded = o.chainStatus(ctx, ev, chain, at)
	sig.RevocationSource = "online"
	if embedded {
		sig.RevocationSource = "embedded"
	}
	if !sig.Revocation.OK {
		sig.RevocationSource = ""
	}
	return embedded && tsaComplete
}

// level is the baseline level a valid signature reached.
func level(sig *Signature, lt, lta bool) string {
	switch {
	case sig.Timestamp == nil || !sig.Timestamp.OK:
		return "B-B"
	case !lt:
		return "B-T"
	case !lta:
		return "B-LT"
	}
	return "B-LTA"
}
