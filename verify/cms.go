package verify

import (
	"context"
	"io"

	"github.com/tte-agent/tte-agent/cms"
)

// CMS verifies a CMS signature (DER) over its encapsulated content, or over
// content (read once, streamed) when the signature is detached.
func CMS(ctx context.Context, name string, der []byte, content io.Reader, o Options) *Report {
	rep := &Report{File: name, Format: "cms"}
	defer rep.finish()
	p, err := cms.Parse(der)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	if p.Content == nil && content == nil {
		rep.Error = "the signature is detached: give the signed content too"
		return rep
	}
	// Digest the content once per algorithm the signers use.
	digests := map[string][]byte{}
	for _, s := range p.Signers {
		if _, ok := digests[s.Hash.String()]; ok || !s.Hash.Available() {
			continue
		}
		h := s.Hash.New()
		if p.Content != nil {
			h.Write(p.Content)
		} else if _, err := io.Copy(h, content); err != nil {
			rep.Error = "failed to read the content: " + err.Error()
			return rep
		}
		digests[s.Hash.String()] = h.Sum(nil)
		if p.Content == nil && len(p.Signers) > 1 {
			break // a stream is read once: further algorithms cannot be checked
		}
	}
	for _, s := range p.Signers {
		sig := Signature{Kind: KindSignature, CoversWholeFile: true, Unchanged: Check{OK: true}}
		ev := &evidence{}
		digest, ok := digests[s.Hash.String()]
		if !ok {
			sig.Integrity = Check{Detail: "the content could not be hashed with the signer's digest algorithm"}
			rep.Signatures = append(rep.Signatures, sig)
			continue
		}
		lt := o.verifySigner(ctx, ev, p, s, digest, &sig)
		sig.Valid = sig.Integrity.OK && sig.Chain.OK && sig.Revocation.OK && (sig.Timestamp == nil || sig.Timestamp.OK)
		if sig.Valid {
			sig.Level = level(&sig, lt && (len(s.CertValues) > 0 || len(s.CRLValues)+len(s.OCSPValues) > 0), false)
		}
		rep.Signatures = append(rep.Signatures, sig)
	}
	return rep
}
