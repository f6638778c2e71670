package agent

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/upload"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/token"
)

// docParams are what sign.cms and sign.pdf params share.
type docParams struct {
	certID string
	hash   protocol.HashAlgorithm
	sigAlg protocol.SignatureAlgorithm
	level  protocol.Level
	items  []protocol.SignItem
}

// docSigning is a sign.cms or sign.pdf request with its documents received
// and its certificate resolved, ready for its digests and consent.
type docSigning struct {
	docs  *documents
	cert  token.Certificate
	hash  crypto.Hash
	pss   bool
	level protocol.Level
	chain []*x509.Certificate
	prog  *progress
}

// checkItemCount refuses a request over the item limit.
func (a *Agent) checkItemCount(n int) error {
	if n > a.cfg.Limits.Items {
		return tooLarge(fmt.Sprintf("at most %d items per request, got %d", a.cfg.Limits.Items, n))
	}
	return nil
}

// startDocSigning checks the request, takes its documents from the
// connection, resolves the certificate and waits for every byte. On
// success the caller owns ds.docs and must remove them.
func (a *Agent) startDocSigning(ctx context.Context, p *wsserver.Peer, id protocol.ID, dp docParams) (ds *docSigning, err error) {
	if err := a.checkItemCount(len(dp.items)); err != nil {
		return nil, err
	}
	if dp.level == protocol.LevelBT && a.tsa == nil {
		return nil, protocol.BadRequest("params.level: B-T needs a time-stamping authority and this agent has no [tsa] url; ask for B-B or have the administrator configure one")
	}
	docs, err := a.takeDocuments(p, dp.items)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			docs.remove()
		}
	}()
	cert, err := a.findCertificate(dp.certID)
	if err != nil {
		return nil, err
	}
	hash := dp.hash.Hash()
	opts, err := signerOpts(cert.Cert, dp.sigAlg, hash)
	if err != nil {
		return nil, err
	}
	_, pss := opts.(*rsa.PSSOptions)
	chain, err := a.tokens.Chain(cert, a.cfg.Certificates.Parsed...)
	if err != nil {
		a.log.Warn("failed to read the certificate chain from the token", "err", err)
	}
	prog := newProgress(p, id, len(dp.items))
	if err := a.receive(ctx, docs, prog); err != nil {
		return nil, err
	}
	return &docSigning{docs: docs, cert: cert, hash: hash, pss: pss, level: dp.level, chain: chain, prog: prog}, nil
}

// signDocuments signs every digest of ds as CMS in one consent and one
// login, then time-stamps them for B-T. A zero signingTime leaves the
// signing-time attribute out (PAdES).
func (a *Agent) signDocuments(ctx context.Context, p *wsserver.Peer, req protocol.Request, ds *docSigning, c consent.Request, signingTime time.Time) ([]*cms.SignedData, error) {
	n := len(ds.docs.digests)
	signed := make([]*cms.SignedData, n)
	err := a.sign(ctx, signRequest{
		peer: p, id: req.ID, method: req.Method, cert: ds.cert, total: n, prog: ds.prog, consent: c,
	}, func(ctx context.Context, s *token.Session, k *token.Key, pin []byte, prog *progress) error {
		done, err := a.eachItem(ctx, s, a.sessions(n), n, prog, func(s *token.Session, i int) error {
			signer := tokenSigner{s: s, k: k, pub: ds.cert.Cert.PublicKey, pin: pin}
			sd, err := cms.Sign(ds.docs.digests[i], ds.cert.Cert, signer, cms.Options{Hash: ds.hash, PSS: ds.pss, SigningTime: signingTime, Chain: ds.chain})
			signed[i] = sd
			return err
		})
		if err != nil {
			return a.itemError(ctx, err, done)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if ds.level == protocol.LevelBT {
		if err := a.timestamp(ctx, signed, ds.hash, ds.prog); err != nil {
			return nil, err
		}
	}
	return signed, nil
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
