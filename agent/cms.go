package agent

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/upload"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/token"
	"github.com/tte-agent/tte-agent/tsa"
)

// documents are the items of a sign request once resolved: uploads taken
// from the connection (the request owns them now) or named digests.
type documents struct {
	names   []string
	uploads []*upload.Upload // nil for digest items
	digests [][]byte
	total   int64
}

// remove deletes every taken upload; a sign request consumes its
// documents whatever its outcome.
func (d *documents) remove() {
	for _, u := range d.uploads {
		if u != nil {
			u.Remove()
		}
	}
}

func (d *documents) hasUploads() bool {
	for _, u := range d.uploads {
		if u != nil {
			return true
		}
	}
	return false
}

// takeDocuments resolves items, checking the origin's capabilities.
func (a *Agent) takeDocuments(p *wsserver.Peer, items []protocol.SignItem) (*documents, error) {
	d := &documents{}
	for _, it := range items {
		if it.UploadID == nil && !a.allowed(p.Origin, protocol.CapDigest) {
			d.remove()
			return nil, notPermitted(protocol.CapDigest)
		}
		if it.UploadID != nil && !a.allowed(p.Origin, protocol.CapDocuments) {
			d.remove()
			return nil, notPermitted(protocol.CapDocuments)
		}
	}
	set := a.uploadSet(p)
	for i, it := range items {
		if it.UploadID == nil {
			d.names = append(d.names, it.Name)
			d.uploads = append(d.uploads, nil)
			d.digests = append(d.digests, it.Digest)
			continue
		}
		u, err := set.Take(*it.UploadID)
		if err != nil {
			d.remove()
			return nil, protocol.BadRequest("params.items[%d].uploadId: unknown upload %d: start it with document.upload; each upload is signed once", i, *it.UploadID)
		}
		d.names = append(d.names, u.Name)
		d.uploads = append(d.uploads, u)
		d.digests = append(d.digests, nil)
		d.total += u.Size
	}
	return d, nil
}

// errStalled means an upload stopped receiving bytes before its size.
var errStalled = errors.New("upload stalled")

// waitUpload waits for an upload to complete while bytes keep coming; an
// upload idle for the configured timeout has stalled (a size mismatch).
func (a *Agent) waitUpload(ctx context.Context, u *upload.Upload) error {
	idle := time.Duration(a.cfg.Uploads.IdleTimeout)
	tick := time.NewTicker(min(idle/4, time.Second))
	defer tick.Stop()
	last, since := u.Received(), time.Now()
	for {
		select {
		case <-u.Done():
			return u.Err()
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if n := u.Received(); n != last {
				last, since = n, time.Now()
			} else if time.Since(since) >= idle {
				return errStalled
			}
		}
	}
}

// receive waits until every upload has all its bytes, reporting progress.
func (a *Agent) receive(ctx context.Context, d *documents, prog *progress) error {
	if !d.hasUploads() {
		return nil
	}
	prog.stage(protocol.StageReceiving)
	for i, u := range d.uploads {
		if u == nil {
			continue
		}
		if err := a.waitUpload(ctx, u); err != nil {
			if ctx.Err() != nil {
				return a.contextError(ctx, err, 0)
			}
			if errors.Is(err, errStalled) {
				return protocol.BadRequest("params.items[%d] (%s): only %d of its declared %d bytes arrived and nothing more came for %v; send the whole file, or declare its real size", i, u.Name, u.Received(), u.Size, a.cfg.Uploads.IdleTimeout)
			}
			return protocol.BadRequest("params.items[%d]: upload %d was discarded before it completed (see its document.error)", i, u.ID)
		}
		prog.item()
	}
	return nil
}

func (a *Agent) signCMS(ctx context.Context, p *wsserver.Peer, req protocol.Request) (any, error) {
	defer a.consumeNamed(p, req.Params)
	var params protocol.SignCMSParams
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
	// The documents are final before the user is asked: the consent
	// covers exactly these bytes.
	for i, u := range docs.uploads {
		if u != nil {
			if docs.digests[i], err = u.Digest(hash); err != nil {
				return nil, fmt.Errorf("failed to hash upload %d: %w", u.ID, err)
			}
		}
	}
	signed := make([]*cms.SignedData, 0, len(params.Items))
	err = a.sign(ctx, signRequest{
		peer: p, id: req.ID, method: req.Method, cert: cert, total: len(params.Items), prog: prog,
		consent: consent.Request{Items: docs.names, TotalBytes: docs.total, Digests: !docs.hasUploads(),
			HashAlgorithm: string(params.HashAlgorithm)},
	}, func(ctx context.Context, s *token.Session, k *token.Key, pin []byte, prog *progress) error {
		signer := tokenSigner{s: s, k: k, pub: cert.Cert.PublicKey, pin: pin}
		for i, d := range docs.digests {
			if ctx.Err() != nil {
				return a.contextError(ctx, ctx.Err(), i)
			}
			sd, err := cms.Sign(d, cert.Cert, signer, cms.Options{Hash: hash, PSS: pss, SigningTime: time.Now(), Chain: chain})
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
	result := protocol.SignCMSResult{Items: make([]protocol.CMSItem, len(signed))}
	for i, sd := range signed {
		der, err := sd.Bytes()
		if err != nil {
			return nil, err
		}
		result.Items[i] = protocol.CMSItem{Name: docs.names[i], CMS: der}
	}
	return result, nil
}

// timestamp adds a signature time-stamp to each signature, after logout:
// the token is not held while the TSA answers.
func (a *Agent) timestamp(ctx context.Context, signed []*cms.SignedData, h crypto.Hash, prog *progress) error {
	prog.stage(protocol.StageTimestamping)
	for i, sd := range signed {
		if ctx.Err() != nil {
			return a.contextError(ctx, ctx.Err(), i)
		}
		d := h.New()
		d.Write(sd.Signature())
		tok, err := a.tsa.Stamp(ctx, h, d.Sum(nil))
		if err != nil {
			if ctx.Err() != nil {
				return a.contextError(ctx, ctx.Err(), i)
			}
			a.log.Warn("time-stamp failed", "tsa", a.cfg.TSA.URL, "err", err)
			e := protocol.NewError(protocol.ReasonUpstreamFailed, "The time-stamping authority failed; try again later or ask for level B-B.").WithCompleted(i)
			if errors.Is(err, tsa.ErrFailed) {
				e.Data.Detail = err.Error()
			}
			return e
		}
		if err := sd.AddTimestamp(tok); err != nil {
			return err
		}
		prog.item()
	}
	return nil
}
