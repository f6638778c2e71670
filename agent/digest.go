package agent

import (
	"context"
	"crypto/x509"
	"encoding/hex"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/token"
)

func notPermitted(c protocol.Capability) error {
	e := protocol.NewError(protocol.ReasonNotPermitted, "This site is not allowed to do that; the agent's configuration must grant it.")
	e.Data.Detail = "the origin lacks the " + string(c) + " capability"
	return e
}

func (a *Agent) signDigest(ctx context.Context, p *wsserver.Peer, req protocol.Request) (any, error) {
	if !a.allowed(p.Origin, protocol.CapDigest) {
		return nil, notPermitted(protocol.CapDigest)
	}
	var params protocol.SignDigestParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	if err := a.checkItemCount(len(params.Items)); err != nil {
		return nil, err
	}
	// A dialog follows a valid request: start the pinentry now, so that
	// its start-up overlaps the certificate lookup (docs/performance.md).
	a.prompt.Warm()
	cert, err := a.findCertificate(params.CertificateID)
	if err != nil {
		return nil, err
	}
	hash := params.HashAlgorithm.Hash()
	opts, err := signerOpts(cert.Cert, params.SignatureAlgorithm, hash)
	if err != nil {
		return nil, err
	}
	carried := func() []*x509.Certificate {
		chain, _ := a.tokens.Chain(cert, a.conf().Certificates.Parsed...)
		return chain
	}
	if _, err := a.checkSigner(ctx, cert, carried, p.Origin, req.Method); err != nil {
		return nil, err
	}
	names := make([]string, len(params.Items))
	for i, it := range params.Items {
		names[i] = it.Name
	}
	result := protocol.SignDigestResult{Certificate: cert.Cert.Raw, Items: make([]protocol.Signature, len(params.Items))}
	err = a.sign(ctx, signRequest{
		peer:    p,
		id:      req.ID,
		method:  req.Method,
		cert:    cert,
		total:   len(params.Items),
		consent: consent.Request{Items: names, Digests: true, HashAlgorithm: string(params.HashAlgorithm)},
		audited: func() []audit.Item {
			items := make([]audit.Item, len(params.Items))
			for i, it := range params.Items {
				items[i] = audit.Item{Name: it.Name, Digest: hex.EncodeToString(it.Digest)}
			}
			return items
		},
	}, func(ctx context.Context, s *token.Session, k *token.Key, pin []byte, prog *progress) error {
		n := len(params.Items)
		done, err := a.eachItem(ctx, s, a.sessions(n), n, prog, func(s *token.Session, i int) error {
			sig, err := s.Sign(k, params.Items[i].Digest, opts, pin)
			if err != nil {
				return err
			}
			result.Items[i] = protocol.Signature{Name: params.Items[i].Name, Signature: sig}
			return nil
		})
		if err != nil {
			return a.itemError(ctx, err, done)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}
