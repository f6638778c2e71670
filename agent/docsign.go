package agent

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/upload"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/token"
)

// docParams are what sign.cms and sign.pdf params share.
type docParams struct {
	method string
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
	// check is what the agent learnt of the signer before the dialog;
	// lt holds the signer chain's validation data for B-LT and above
	// (nil below), and downgrade says why a B-LT request gets less.
	check     *signerCheck
	lt        *ltData
	downgrade string
	prog      *progress
	// ready[i] is closed when item i's digest, or errs[i], is set.
	ready []chan struct{}
	errs  []error
}

// checkItemCount refuses a request over the item limit.
func (a *Agent) checkItemCount(n int) error {
	if n > a.conf().Limits.Items {
		return tooLarge(fmt.Sprintf("at most %d items per request, got %d", a.conf().Limits.Items, n))
	}
	return nil
}

// startDocSigning checks the request, takes its documents from the
// connection and resolves the certificate. On success the caller owns
// ds.docs and must remove them.
func (a *Agent) startDocSigning(ctx context.Context, p *wsserver.Peer, id protocol.ID, dp docParams) (ds *docSigning, err error) {
	if err := a.checkItemCount(len(dp.items)); err != nil {
		return nil, err
	}
	if dp.level.Rank() >= protocol.LevelBT.Rank() && a.tsa == nil {
		return nil, protocol.BadRequest("params.level: %s needs a time-stamping authority and this agent has no [tsa] url; ask for B-B or have the administrator configure one", dp.level)
	}
	docs, err := a.takeDocuments(p, dp.items, protocol.CapDocuments)
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
	chain, err := a.tokens.Chain(cert, a.conf().Certificates.Parsed...)
	if err != nil {
		a.log.Warn("failed to read the certificate chain from the token", "err", err)
	}
	check, err := a.checkSigner(ctx, cert, func() []*x509.Certificate { return chain }, p.Origin, dp.method)
	if err != nil {
		return nil, err
	}
	prog := newProgress(p, id, len(dp.items))
	ds = &docSigning{docs: docs, cert: cert, hash: hash, pss: pss, level: dp.level, chain: chain, check: check, prog: prog,
		ready: make([]chan struct{}, len(dp.items)), errs: make([]error, len(dp.items))}
	if err := a.prepareLT(ctx, ds); err != nil {
		return nil, err
	}
	for i := range ds.ready {
		ds.ready[i] = make(chan struct{})
	}
	return ds, nil
}

// prepareDocuments computes every item's digest with prepare(i), which
// runs once the item's bytes are all in.
//
// When every upload is complete already, all items are prepared on every
// core before the caller goes on: a document that cannot be signed fails
// the request before the user is asked. When some are still arriving, the
// request goes on at once — the dialog shows the declared names and sizes —
// and items are prepared in the background as their bytes arrive, so that
// uploads of later documents overlap the signing of earlier ones; an item
// that fails then fails the request with data.completed. ctx ends the
// background work.
func (a *Agent) prepareDocuments(ctx context.Context, ds *docSigning, prepare func(i int) error) error {
	n := len(ds.ready)
	if !ds.docs.arriving() {
		// Every document is read, so that the page learns of every one
		// the agent refuses at once, not one per attempt.
		if err := parallel(ctx, n, func(i int) error {
			ds.errs[i] = prepare(i)
			close(ds.ready[i])
			return nil
		}); err != nil {
			return err
		}
		return refusals(ds.errs)
	}
	go func() {
		_ = parallel(ctx, n, func(i int) error {
			err := a.awaitUpload(ctx, i, ds.docs.uploads[i])
			if err == nil {
				err = prepare(i)
			}
			ds.errs[i] = err
			close(ds.ready[i])
			return nil // later items go on; the signer stops at the first error
		})
	}()
	return nil
}

// refusals returns nil when no document failed, else the first error;
// when that is a refused document, it lists every refused document in
// data.refused.
func refusals(errs []error) error {
	var first *protocol.Error
	var all []protocol.Refusal
	for _, err := range errs {
		if err == nil {
			continue
		}
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Data.Reason != protocol.ReasonBadRequest || pe.Data.Item == nil {
			return err // not a document's fault: said as it is
		}
		if first == nil {
			first = pe
		}
		all = append(all, protocol.Refusal{Item: *pe.Data.Item, Name: pe.Data.Name, Problem: pe.Data.Problem, Detail: pe.Data.Detail})
	}
	if first == nil {
		return nil
	}
	first.Data.Refused = all
	return first
}

// signDocuments signs every digest of ds as CMS in one consent and one
// login. For B-T and above each signature is time-stamped, and after
// (which may be nil) finishes the item, while the token signs the next
// ones (follower). A zero signingTime leaves the signing-time attribute
// out (PAdES).
func (a *Agent) signDocuments(ctx context.Context, p *wsserver.Peer, req protocol.Request, ds *docSigning, c consent.Request, signingTime time.Time, after afterFunc) ([]*cms.SignedData, error) {
	n := len(ds.docs.digests)
	signed := make([]*cms.SignedData, n)
	var fl *follower
	if ds.level.Rank() >= protocol.LevelBT.Rank() {
		fl = a.newFollower(ctx, ds, signed, after)
		defer fl.stop()
	}
	err := a.sign(ctx, signRequest{
		peer: p, id: req.ID, method: req.Method, cert: ds.cert, total: n, prog: ds.prog, consent: c,
		audited: func() []audit.Item {
			items := make([]audit.Item, n)
			for i := range items {
				items[i].Name = ds.docs.names[i]
				select {
				case <-ds.ready[i]: // the digest is known (for PDFs: of the signed byte ranges)
					items[i].Digest = hex.EncodeToString(ds.docs.digests[i])
				default:
				}
			}
			return items
		},
	}, func(ctx context.Context, s *token.Session, k *token.Key, pin []byte, prog *progress) error {
		done, err := a.eachItem(ctx, s, a.sessions(n), n, prog, func(s *token.Session, i int) error {
			select {
			case <-ds.ready[i]:
			case <-ctx.Done():
				return ctx.Err()
			}
			if ds.errs[i] != nil {
				return ds.errs[i]
			}
			if fl != nil {
				if err := fl.failed(); err != nil {
					return err // the TSA failed: no more signatures that cannot be finished
				}
			}
			signer := tokenSigner{s: s, k: k, pub: ds.cert.Cert.PublicKey, pin: pin}
			sd, err := cms.Sign(ds.docs.digests[i], ds.cert.Cert, signer, cms.Options{Hash: ds.hash, PSS: ds.pss, SigningTime: signingTime, Chain: ds.chain})
			signed[i] = sd
			if err == nil && fl != nil {
				fl.add(i)
			}
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
	if fl != nil {
		ds.prog.stage(protocol.StageTimestamping)
		if err := fl.wait(ctx); err != nil {
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
	idle := time.Duration(a.conf().Uploads.IdleTimeout)
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

// arriving reports whether an upload is still receiving bytes.
func (d *documents) arriving() bool {
	for _, u := range d.uploads {
		if u != nil && u.Received() < u.Size {
			return true
		}
	}
	return false
}

// awaitUpload waits for item i's upload (nil for a digest item) and turns
// a stalled or discarded upload into the request's error.
func (a *Agent) awaitUpload(ctx context.Context, i int, u *upload.Upload) error {
	if u == nil {
		return nil
	}
	err := a.waitUpload(ctx, u)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, errStalled):
		return protocol.BadRequest("params.items[%d] (%s): only %d of its declared %d bytes arrived and nothing more came for %v; send the whole file, or declare its real size", i, u.Name, u.Received(), u.Size, time.Duration(a.conf().Uploads.IdleTimeout))
	}
	return protocol.BadRequest("params.items[%d]: upload %d was discarded before it completed (see its document.error)", i, u.ID)
}
