package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tte-agent/tte-agent/agent/budget"
	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/protocol"
)

// timestampAllowance is what /Contents reserves for an RFC 3161 token:
// real tokens with their TSA chain take 3 to 8 KiB.
const timestampAllowance = 16 << 10

func (a *Agent) signPDF(ctx context.Context, p *wsserver.Peer, req protocol.Request) (any, error) {
	defer a.consumeNamed(p, req.Params)
	if !a.allowed(p.Origin, protocol.CapDocuments) {
		return nil, notPermitted(protocol.CapDocuments)
	}
	var params protocol.SignPDFParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	ds, err := a.startDocSigning(ctx, p, req.ID, docParams{method: req.Method, certID: params.CertificateID, hash: params.HashAlgorithm,
		sigAlg: params.SignatureAlgorithm, level: params.Level, items: params.Items})
	if err != nil {
		return nil, err
	}
	defer ds.docs.remove()
	docs, cert := ds.docs, ds.cert

	// Every document is parsed and its update prepared before the user is
	// asked: a damaged PDF is refused without a dialog. /M is this moment.
	po := pades.Options{
		Time:         time.Now(),
		Reason:       params.Reason,
		Location:     params.Location,
		ContactInfo:  params.ContactInfo,
		Name:         cert.Cert.Subject.CommonName,
		ContentsSize: cms.SizeBound(cert.Cert, ds.chain),
		Certify:      params.Certify,
		Field:        params.Field,
	}
	if params.Level.Rank() >= protocol.LevelBT.Rank() {
		po.ContentsSize += timestampAllowance
	}
	c := consent.Request{Items: docs.names, TotalBytes: docs.total, Reason: params.Reason, Location: params.Location, ContactInfo: params.ContactInfo}
	if ap := params.Appearance; ap != nil {
		if po.Appearance, err = a.pdfAppearance(ctx, p, ap, &c); err != nil {
			return nil, err
		}
	}
	// Parsing and hashing run on every core, outside the token lock.
	ctx, stop := context.WithCancel(ctx)
	defer stop() // ends background preparation when the request ends
	updates := make([]*pades.Update, len(docs.uploads))
	err = a.prepareDocuments(ctx, ds, func(i int) error {
		u := docs.uploads[i]
		err := a.parses.Run(ctx, u.Size, func(ctx context.Context) error {
			var err error
			updates[i], err = pades.Prepare(ctx, u, u.Size, po)
			return err
		})
		if err != nil {
			return pdfError(err, i, u.Name)
		}
		if docs.digests[i], err = updates[i].Digest(ds.hash); err != nil {
			return fmt.Errorf("failed to hash %s: %w", u.Name, err)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, a.contextError(ctx, err, 0)
		}
		return nil, err
	}

	// PAdES: no signing-time attribute; the time is in /M.
	// The dialog shows everything the signature dictionary and its
	// appearance will say.
	if !consent.Fits(a.conf().Pinentry.Language, c) {
		return nil, protocol.BadRequest("params: the reason, location, contact, appearance text and QR code cannot all be shown in the signing dialog as they would be signed (each at most %d characters, the QR code's text %d, no control or invisible characters, and together short enough); shorten them", consent.MaxTextRunes, 2*consent.MaxTextRunes)
	}
	// B-T and above: each item is finished — time-stamp, DSS, document
	// time-stamp — while the token signs the next (follower).
	level := ds.level
	finished := make([][]byte, len(docs.uploads))
	levels := make([]protocol.Level, len(docs.uploads))
	var after afterFunc
	if level.Rank() >= protocol.LevelBT.Rank() {
		after = func(ctx context.Context, i int, sd *cms.SignedData, lt *ltData) error {
			der, err := sd.Bytes()
			if err != nil {
				return err
			}
			fin, err := updates[i].Finish(der)
			if err != nil {
				return err
			}
			levels[i] = protocol.LevelBT
			if lt != nil {
				u := docs.uploads[i]
				vd := vriFor(lt, params.VRI, der)
				if fin, err = a.extendOne(ctx, i, u, u.Size, fin, &vd, level == protocol.LevelBLTA, ds.hash); err != nil {
					return err
				}
				levels[i] = level
			}
			finished[i], updates[i] = fin, nil
			return nil
		}
	}
	signed, err := a.signDocuments(ctx, p, req, ds, c, time.Time{}, after)
	if err != nil {
		return nil, err
	}
	result := protocol.SignPDFResult{Items: make([]protocol.PDFItem, len(signed)), Revocation: ds.resultRevocation()}
	if after != nil {
		for i := range signed {
			result.Items[i] = protocol.PDFItem{Name: docs.names[i], Update: finished[i], SignedSize: docs.uploads[i].Size + int64(len(finished[i])), Level: levels[i]}
		}
		return result, nil
	}
	// Each update is finished as the result is written to the page: a
	// batch holds each document's update without its signature and the
	// signature, never all the signed updates at once.
	for i, sd := range signed {
		der, err := sd.Bytes()
		if err != nil {
			return nil, err
		}
		u := updates[i]
		if err := u.Holds(der); err != nil {
			return nil, err
		}
		result.Items[i] = protocol.PDFItem{Name: docs.names[i], SignedSize: u.SignedSize(), Level: ds.level,
			Finish: func() ([]byte, error) { return u.Finish(der) }}
		signed[i], updates[i] = nil, nil
	}
	return result, nil
}

// pdfError turns a document the agent cannot sign into bad_request naming
// the item (i < 0: the request's appearance).
func pdfError(err error, i int, name string) error {
	if errors.Is(err, budget.ErrCPU) || errors.Is(err, budget.ErrMemory) {
		e := protocol.BadRequest("params.items[%d] (%s): reading this PDF went %v; the file is damaged or built to exhaust the agent: export or print it to PDF again", i, name, err)
		e.Message = fmt.Sprintf("Document %q is too costly to read; see the detail. Nothing was signed.", name)
		e.Data.Problem = string(pades.ProblemTooCostly)
		if i >= 0 {
			e.Data.Item, e.Data.Name = &i, name
		}
		return e
	}
	if !errors.Is(err, pades.ErrInvalid) {
		return err
	}
	if i < 0 {
		return protocol.BadRequest("params.appearance: %v", err)
	}
	e := protocol.BadRequest("params.items[%d] (%s): %v", i, name, err)
	e.Message = fmt.Sprintf("Document %q cannot be signed; see the detail, fix the file and sign again. Nothing was signed.", name)
	e.Data.Item, e.Data.Name = &i, name
	e.Data.Problem = string(pades.ProblemOf(err))
	return e
}
