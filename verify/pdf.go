package verify

import (
	"context"
	"crypto"
	"fmt"
	"io"

	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/pades"
)

// PDF verifies every signature and document time-stamp of the PDF in r.
// Reading the file is bounded as signing is (see pades.Inspect).
func PDF(ctx context.Context, name string, r io.ReaderAt, size int64, o Options) *Report {
	rep := &Report{File: name, Format: "pdf"}
	defer rep.finish()
	ins, err := pades.Inspect(ctx, r, size)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	if len(ins.Fields) == 0 {
		rep.Error = "the PDF has no signature"
		return rep
	}
	ev := &evidence{ocsps: ins.DSS.OCSPs, crls: ins.DSS.CRLs}
	ev.addCerts(ins.DSS.Certs)

	certifiedP := 0
	for i, f := range ins.Fields {
		if f.DocMDP != 0 {
			certifiedP = f.DocMDP
		}
		sig := Signature{Field: f.Name, Kind: KindSignature, CoversWholeFile: f.SignedEnd() == size}
		if f.DocTimeStamp {
			sig.Kind = KindDocTimestamp
		}
		if !f.Time.IsZero() {
			t := f.Time
			sig.ClaimedTime = &t
		}
		digestOf := func(h crypto.Hash) ([]byte, error) { return rangesDigest(r, size, f.ByteRange, h) }
		if err := checkByteRange(r, size, f.ByteRange); err != nil {
			sig.Integrity = Check{Detail: err.Error()}
			rep.Signatures = append(rep.Signatures, sig)
			continue
		}
		// What was added after this signature.
		changes, err := pades.Changes(ctx, r, size, f.SignedEnd(), certifiedP == 3)
		switch {
		case err != nil:
			sig.Unchanged = Check{Detail: fmt.Sprintf("the revisions cannot be compared: %v", err)}
		case len(changes) > 0:
			sig.Unchanged = Check{Detail: fmt.Sprintf("changed after signing: %v", changes)}
		default:
			sig.Unchanged = Check{OK: true}
		}
		if certifiedP == 1 {
			for _, later := range ins.Fields[i+1:] {
				if !later.DocTimeStamp {
					sig.Unchanged = Check{Detail: "a signature was added to a document certified with no changes allowed (DocMDP P=1)"}
				}
			}
		}
		// Later document time-stamps and whether the DSS came before one.
		lta := false
		for _, later := range ins.Fields[i+1:] {
			if later.DocTimeStamp {
				lta = true
			}
		}

		if f.DocTimeStamp {
			tr := o.verifyToken(ctx, ev, f.Contents, func(h crypto.Hash) []byte {
				d, err := digestOf(h)
				if err != nil {
					return nil
				}
				return d
			})
			sig.Integrity = tr.check
			if tr.signer != nil {
				sig.Signer, sig.Subject = tr.signer.Subject.CommonName, tr.signer.Subject.String()
			}
			if tr.check.OK {
				t := tr.time
				sig.TimestampTime = &t
				sig.Chain, sig.Revocation = Check{OK: true}, tr.revocation
				for _, c := range tr.chain {
					sig.ChainSubjects = append(sig.ChainSubjects, c.Subject.String())
				}
				sig.RevocationSource = "online"
				if tr.allEmbedded {
					sig.RevocationSource = "embedded"
				}
			} else {
				sig.Chain = Check{Detail: "not checked: the time-stamp itself failed"}
				sig.Revocation = Check{Detail: "not checked"}
			}
			sig.Valid = sig.Integrity.OK && sig.Unchanged.OK
			rep.Signatures = append(rep.Signatures, sig)
			continue
		}

		p, err := cms.Parse(f.Contents)
		if err != nil {
			sig.Integrity = Check{Detail: err.Error()}
			rep.Signatures = append(rep.Signatures, sig)
			continue
		}
		s := p.Signers[0]
		digest, err := digestOf(s.Hash)
		if err != nil {
			sig.Integrity = Check{Detail: err.Error()}
			rep.Signatures = append(rep.Signatures, sig)
			continue
		}
		lt := o.verifySigner(ctx, ev, p, s, digest, &sig)
		sig.Valid = sig.Integrity.OK && sig.Chain.OK && sig.Revocation.OK && sig.Unchanged.OK && (sig.Timestamp == nil || sig.Timestamp.OK)
		if sig.Valid {
			sig.Level = level(&sig, lt, lta)
		}
		rep.Signatures = append(rep.Signatures, sig)
	}
	return rep
}

// checkByteRange refuses byte ranges that do not cover the file from its
// start up to the signature's own hex string, and from after it.
func checkByteRange(r io.ReaderAt, size int64, br [4]int64) error {
	if br[0] != 0 || br[1] <= 0 || br[2] <= br[1] || br[2]+br[3] > size {
		return fmt.Errorf("the /ByteRange %v does not cover the document properly (signature wrapping?)", br)
	}
	var lt, gt [1]byte
	if _, err := r.ReadAt(lt[:], br[1]); err != nil {
		return err
	}
	if _, err := r.ReadAt(gt[:], br[2]-1); err != nil {
		return err
	}
	if lt[0] != '<' || gt[0] != '>' {
		return fmt.Errorf("the /ByteRange gap is not the signature's /Contents")
	}
	return nil
}

func rangesDigest(r io.ReaderAt, size int64, br [4]int64, h crypto.Hash) ([]byte, error) {
	if !h.Available() {
		return nil, fmt.Errorf("unsupported digest algorithm")
	}
	d := h.New()
	if _, err := io.Copy(d, io.NewSectionReader(r, br[0], br[1])); err != nil {
		return nil, err
	}
	if _, err := io.Copy(d, io.NewSectionReader(r, br[2], br[3])); err != nil {
		return nil, err
	}
	return d.Sum(nil), nil
}
