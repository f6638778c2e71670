package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/upload"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/protocol"
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

// digestItems counts the items the page sent as digests.
func (d *documents) digestItems() int {
	n := 0
	for _, u := range d.uploads {
		if u == nil {
			n++
		}
	}
	return n
}

// takeDocuments resolves items, checking the origin's capabilities.
// Uploads need uploadCap (documents for signing).
func (a *Agent) takeDocuments(p *wsserver.Peer, items []protocol.SignItem, uploadCap protocol.Capability) (*documents, error) {
	d := &documents{}
	for _, it := range items {
		if it.UploadID == nil && !a.allowed(p.Origin, protocol.CapDigest) {
			d.remove()
			return nil, notPermitted(protocol.CapDigest)
		}
		if it.UploadID != nil && !a.permits(p, uploadCap) {
			d.remove()
			return nil, notPermitted(uploadCap)
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

func (a *Agent) signCMS(ctx context.Context, p *wsserver.Peer, req protocol.Request) (any, error) {
	defer a.consumeNamed(p, req.Params)
	var params protocol.SignCMSParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	ds, err := a.startDocSigning(ctx, p, req.ID, docParams{method: req.Method, certID: params.CertificateID, hash: params.HashAlgorithm,
		sigAlg: params.SignatureAlgorithm, level: params.Level, items: params.Items})
	if err != nil {
		return nil, err
	}
	defer ds.docs.remove()
	ctx, stop := context.WithCancel(ctx)
	defer stop() // ends background preparation when the request ends
	err = a.prepareDocuments(ctx, ds, func(i int) error {
		if u := ds.docs.uploads[i]; u != nil {
			d, err := u.Digest(ds.hash)
			if err != nil {
				return fmt.Errorf("failed to hash upload %d: %w", u.ID, err)
			}
			ds.docs.digests[i] = d
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	signed, err := a.signDocuments(ctx, p, req, ds,
		consent.Request{Items: ds.docs.names, TotalBytes: ds.docs.total, Digests: !ds.docs.hasUploads(), DigestItems: ds.docs.digestItems(), HashAlgorithm: string(params.HashAlgorithm)},
		time.Now(), nil)
	if err != nil {
		return nil, err
	}
	result := protocol.SignCMSResult{Items: make([]protocol.CMSItem, len(signed)), Revocation: ds.resultRevocation()}
	for i, sd := range signed {
		if ds.lt != nil {
			if err := sd.AddValidationData(ds.lt.certs, ds.lt.crls, ds.lt.ocsps); err != nil {
				return nil, err
			}
		}
		der, err := sd.Bytes()
		if err != nil {
			return nil, err
		}
		result.Items[i] = protocol.CMSItem{Name: ds.docs.names[i], CMS: der, Level: ds.level}
	}
	return result, nil
}
