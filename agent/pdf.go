package agent

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/token"
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
	if n := len(params.Items); n > a.cfg.Limits.Items {
		return nil, tooLarge(fmt.Sprintf("at most %d items per request, got %d", a.cfg.Limits.Items, n))
	}
	if params.Level == protocol.LevelBT && a.tsa == nil {
		return nil, protocol.BadRequest("params.level: B-T needs a time-stamping authority and this agent has no [tsa] url; ask for B-B or have the administrator configure one")
	}
	docs, err := a.takeDocuments(p, params.Items)
	if err != nil {
		return nil, err
	}
	defer docs.remove()
	cert, err := a.findCertificate(params.CertificateID)
	if err != nil {
		return nil, err
	}
	hash := params.HashAlgorithm.Hash()
	opts, err := signerOpts(cert.Cert, params.SignatureAlgorithm, hash)
	if err != nil {
		return nil, err
	}
	_, pss := opts.(*rsa.PSSOptions)
	chain, err := a.tokens.Chain(cert, a.cfg.Certificates.Parsed...)
	if err != nil {
		a.log.Warn("failed to read the certificate chain from the token", "err", err)
	}
	prog := newProgress(p, req.ID, len(params.Items))
	if err := a.receive(ctx, docs, prog); err != nil {
		return nil, err
	}

	// Every document is parsed and its update prepared before the user is
	// asked: a damaged PDF is refused without a dialog. /M is this moment.
	po := pades.Options{
		Time:         time.Now(),
		Reason:       params.Reason,
		Location:     params.Location,
		ContactInfo:  params.ContactInfo,
		Name:         cert.Cert.Subject.CommonName,
		ContentsSize: cms.SizeBound(cert.Cert, chain),
	}
	if params.Level == protocol.LevelBT {
		po.ContentsSize += timestampAllowance
	}
	if ap := params.Appearance; ap != nil {
		po.Appearance = &pades.Appearance{Page: ap.Page, Rect: [4]float64(ap.Rect), Text: ap.Text}
		if err := po.Appearance.Check(); err != nil {
			return nil, pdfError(err, -1, "")
		}
	}
	updates := make([]*pades.Update, len(docs.uploads))
	for i, u := range docs.uploads {
		if updates[i], err = pades.Prepare(u, u.Size, po); err != nil {
			return nil, pdfError(err, i, u.Name)
		}
		if docs.digests[i], err = updates[i].Digest(hash); err != nil {
			return nil, fmt.Errorf("failed to hash %s: %w", u.Name, err)
		}
	}

	signed := make([]*cms.SignedData, 0, len(updates))
	err = a.sign(ctx, signRequest{
		peer: p, id: req.ID, method: req.Method, cert: cert, total: len(updates), prog: prog,
		consent: consent.Request{Items: docs.names, TotalBytes: docs.total},
	}, func(ctx context.Context, s *token.Session, k *token.Key, pin []byte, prog *progress) error {
		signer := tokenSigner{s: s, k: k, pub: cert.Cert.PublicKey, pin: pin}
		for i, d := range docs.digests {
			if ctx.Err() != nil {
				return a.contextError(ctx, ctx.Err(), i)
			}
			// PAdES: no signing-time attribute; the time is in /M.
			sd, err := cms.Sign(d, cert.Cert, signer, cms.Options{Hash: hash, PSS: pss, Chain: chain})
			if err != nil {
				return a.tokenError(err, i)
			}
			signed = append(signed, sd)
			prog.item()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if params.Level == protocol.LevelBT {
		if err := a.timestamp(ctx, signed, hash, prog); err != nil {
			return nil, err
		}
	}
	result := protocol.SignPDFResult{Items: make([]protocol.PDFItem, len(signed))}
	for i, sd := range signed {
		der, err := sd.Bytes()
		if err != nil {
			return nil, err
		}
		update, err := updates[i].Finish(der)
		if err != nil {
			return nil, err
		}
		result.Items[i] = protocol.PDFItem{Name: docs.names[i], Update: update, SignedSize: updates[i].SignedSize()}
	}
	return result, nil
}

// pdfError turns a document the agent cannot sign into bad_request naming
// the item (i < 0: the request's appearance).
func pdfError(err error, i int, name string) error {
	if !errors.Is(err, pades.ErrInvalid) {
		return err
	}
	if i < 0 {
		return protocol.BadRequest("params.appearance: %v", err)
	}
	e := protocol.BadRequest("params.items[%d] (%s): %v", i, name, err)
	e.Message = fmt.Sprintf("Document %q cannot be signed; see the detail, fix the file and sign again. Nothing was signed.", name)
	return e
}
