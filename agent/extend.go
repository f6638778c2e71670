package agent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/verify"
)

// maxCMSVerify bounds a CMS signature file read into memory to verify.
const maxCMSVerify = 64 << 20

// extendPDF adds validation data (B-LT) and a document time-stamp (B-LTA)
// to signed PDFs: no key, no PIN, no dialog.
func (a *Agent) extendPDF(ctx context.Context, p *wsserver.Peer, req protocol.Request) (any, error) {
	defer a.consumeNamed(p, req.Params)
	if !a.allowed(p.Origin, protocol.CapExtend) {
		return nil, notPermitted(protocol.CapExtend)
	}
	var params protocol.PDFExtendParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	if err := a.checkItemCount(len(params.Items)); err != nil {
		return nil, err
	}
	if params.Level == protocol.LevelBLTA && a.tsa == nil {
		return nil, protocol.BadRequest("params.level: B-LTA needs a time-stamping authority and this agent has no [tsa] url; ask for B-LT or have the administrator configure one")
	}
	docs, err := a.takeDocuments(p, params.Items, protocol.CapExtend)
	if err != nil {
		return nil, err
	}
	defer docs.remove()
	for i, u := range docs.uploads {
		if err := a.awaitUpload(ctx, i, u); err != nil {
			return nil, err
		}
	}
	n := len(docs.uploads)
	prog := newProgress(p, req.ID, n)
	lt := make([]*pades.ValidationData, n)
	err = parallel(ctx, n, func(i int) error {
		u := docs.uploads[i]
		var ins *pades.Inspection
		err := a.parses.Run(ctx, u.Size, func(ctx context.Context) error {
			var err error
			ins, err = pades.Inspect(ctx, u, u.Size)
			return err
		})
		if err != nil {
			return pdfError(err, i, u.Name)
		}
		if len(ins.Fields) == 0 {
			return protocol.BadRequest("params.items[%d] (%s): the PDF has no signature to extend; sign it first", i, u.Name)
		}
		vd, err := a.extensionData(ctx, ins, params.VRI)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if len(ins.DSS.Certs)+len(ins.DSS.OCSPs)+len(ins.DSS.CRLs) == 0 {
				e := protocol.NewError(protocol.ReasonUpstreamFailed, "The validation data this document's signatures need could not be had; try again later.")
				e.Data.Detail = fmt.Sprintf("params.items[%d] (%s): %v", i, u.Name, err)
				return e
			}
			// The document carries validation data already: a document
			// time-stamp over it still renews it.
			a.log.Warn("extending without new validation data", "item", i, "err", err)
			return nil
		}
		lt[i] = vd
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, a.contextError(ctx, err, 0)
		}
		return nil, err
	}
	bases, sizes := make([]io.ReaderAt, n), make([]int64, n)
	for i, u := range docs.uploads {
		bases[i], sizes[i] = u, u.Size
	}
	updates, err := a.longTerm(ctx, bases, sizes, make([][]byte, n), lt, params.Level == protocol.LevelBLTA, crypto.SHA256, prog)
	if err != nil {
		return nil, err
	}
	res := protocol.SignPDFResult{Items: make([]protocol.PDFItem, n)}
	for i, u := range docs.uploads {
		res.Items[i] = protocol.PDFItem{Name: u.Name, Update: updates[i], SignedSize: u.Size + int64(len(updates[i])), Level: params.Level}
	}
	return res, nil
}

// extensionData gathers the validation data of every signature and
// time-stamp in a signed PDF: chains to trust anchors at the time each
// was made, and current revocation answers.
func (a *Agent) extensionData(ctx context.Context, ins *pades.Inspection, withVRI bool) (*pades.ValidationData, error) {
	d := &ltData{}
	var known []*x509.Certificate
	for _, der := range ins.DSS.Certs {
		if c, err := x509.ParseCertificate(der); err == nil {
			known = append(known, c)
		}
	}
	var sigs [][]byte
	for _, f := range ins.Fields {
		if f.DocTimeStamp {
			if err := a.tsaData(ctx, a.pageTrust, d, f.Contents); err != nil {
				return nil, fmt.Errorf("document time-stamp %s: %w", f.Name, err)
			}
			continue
		}
		p, err := cms.Parse(f.Contents)
		if err != nil || p.Signers[0].Cert == nil {
			return nil, fmt.Errorf("signature %s cannot be read", f.Name)
		}
		s := p.Signers[0]
		at := time.Now()
		if s.TimeStampToken != nil {
			if err := a.tsaData(ctx, a.pageTrust, d, s.TimeStampToken); err != nil {
				return nil, fmt.Errorf("signature %s: %w", f.Name, err)
			}
			if leaf, _, err := tsaCertificates(s.TimeStampToken); err == nil && leaf.NotAfter.Before(at) {
				at = leaf.NotAfter
			}
		}
		if s.Cert.NotAfter.Before(at) {
			at = s.Cert.NotAfter.Add(-time.Minute) // an expired signer's chain as it stood
		}
		// The document's certificates are the sender's: no AIA fetching.
		chain, err := a.pageTrust.Chain(ctx, s.Cert, append(p.Certificates, known...), at)
		if err != nil {
			return nil, fmt.Errorf("signature %s: %w", f.Name, err)
		}
		if err := a.chainData(ctx, d, chain, nil); err != nil {
			return nil, fmt.Errorf("signature %s: %w", f.Name, err)
		}
		sigs = append(sigs, f.Contents)
	}
	vd := vriFor(d, withVRI, sigs...)
	return &vd, nil
}

// verifyDocuments is document.verify: `tte-agent verify` over uploads.
func (a *Agent) verifyDocuments(ctx context.Context, p *wsserver.Peer, req protocol.Request) (any, error) {
	defer a.consumeNamed(p, req.Params)
	if !a.allowed(p.Origin, protocol.CapVerify) {
		return nil, notPermitted(protocol.CapVerify)
	}
	var params protocol.DocumentVerifyParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	if err := a.checkItemCount(len(params.Items)); err != nil {
		return nil, err
	}
	var items []protocol.SignItem
	for _, it := range params.Items {
		items = append(items, protocol.SignItem{UploadID: it.UploadID})
		if it.ContentUploadID != nil {
			items = append(items, protocol.SignItem{UploadID: it.ContentUploadID})
		}
	}
	docs, err := a.takeDocuments(p, items, protocol.CapVerify)
	if err != nil {
		return nil, err
	}
	defer docs.remove()
	for i, u := range docs.uploads {
		if err := a.awaitUpload(ctx, i, u); err != nil {
			return nil, err
		}
	}
	// Issuers are not fetched by AIA for a page's documents (the URLs are
	// the sender's); revocation, with online, is asked only for chains
	// that already reached an anchor, at the URLs their CAs wrote.
	opts := verify.Options{Trust: a.pageTrust}
	if params.Online {
		opts.Online = a.revoc
	}
	reports := make([]*verify.Report, 0, len(params.Items))
	k := 0
	for _, it := range params.Items {
		u := docs.uploads[k]
		k++
		var content io.Reader
		if it.ContentUploadID != nil {
			content = io.NewSectionReader(docs.uploads[k], 0, docs.uploads[k].Size)
			k++
		}
		head := make([]byte, min(1024, u.Size))
		u.ReadAt(head, 0)
		if bytes.Contains(head, []byte("%PDF-")) {
			var rep *verify.Report
			err := a.parses.Run(ctx, u.Size, func(ctx context.Context) error {
				rep = verify.PDF(ctx, u.Name, u, u.Size, opts)
				return nil
			})
			if err != nil {
				return nil, pdfError(err, len(reports), u.Name)
			}
			reports = append(reports, rep)
			continue
		}
		if u.Size > maxCMSVerify {
			return nil, tooLarge(fmt.Sprintf("a CMS signature to verify may have at most %d bytes; send the content as contentUploadId", maxCMSVerify))
		}
		der := make([]byte, u.Size)
		if _, err := u.ReadAt(der, 0); err != nil && err != io.EOF {
			return nil, err
		}
		reports = append(reports, verify.CMS(ctx, u.Name, der, content, opts))
	}
	raw, err := json.Marshal(reports)
	if err != nil {
		return nil, err
	}
	var text bytes.Buffer
	verify.WriteText(&text, reports, params.Language)
	res := protocol.DocumentVerifyResult{Valid: true, Reports: raw, Text: text.String()}
	for _, r := range reports {
		res.Valid = res.Valid && r.Valid
	}
	return res, nil
}
