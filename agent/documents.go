package agent

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tte-agent/tte-agent/agent/upload"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/protocol"
)

// uploadSet returns the connection's uploads, creating them on first use.
// A connection that has closed gets an empty set that holds nothing, so a
// request still running cannot leave a document behind.
func (a *Agent) uploadSet(p *wsserver.Peer) *upload.Set {
	a.umu.Lock()
	defer a.umu.Unlock()
	if p.Context().Err() != nil {
		return a.store.NewSet(0, 0)
	}
	s, ok := a.uploads[p.ID]
	if !ok {
		s = a.store.NewSet(a.conf().Limits.Uploads, a.conf().Limits.Items)
		a.uploads[p.ID] = s
	}
	return s
}

func tooLarge(detail string) error {
	e := protocol.NewError(protocol.ReasonTooLarge, "Over the agent's limit; send less at once.")
	e.Data.Detail = detail
	return e
}

func (a *Agent) documentUpload(p *wsserver.Peer, req protocol.Request) (any, error) {
	// Documents are uploaded to be signed, extended or verified.
	if !a.allowed(p.Origin, protocol.CapDocuments) && !a.allowed(p.Origin, protocol.CapExtend) && !a.allowed(p.Origin, protocol.CapVerify) &&
		!a.permits(p, protocol.CapEncrypt) && !a.permits(p, protocol.CapDecrypt) {
		return nil, notPermitted(protocol.CapDocuments)
	}
	var params protocol.DocumentUploadParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	if *params.Size > a.conf().Limits.DocumentBytes {
		return nil, tooLarge(fmt.Sprintf("a document may have at most %d bytes, this one declares %d", a.conf().Limits.DocumentBytes, *params.Size))
	}
	u, err := a.uploadSet(p).Begin(params.Name, *params.Size, params.MediaType)
	if errors.Is(err, upload.ErrTooMany) {
		return nil, tooLarge(fmt.Sprintf("at most %d uploads may be held on one connection (declared, receiving or complete); sign or discard some first", a.conf().Limits.Items))
	}
	if errors.Is(err, upload.ErrSpoolFull) {
		return nil, tooLarge(fmt.Sprintf("the agent's document spool cannot take %d more bytes (its quota, uploads.quota_bytes, or the disk's free space is used up); sign or discard the documents already sent, or ask the administrator to free disk space", *params.Size))
	}
	if err != nil {
		return nil, err
	}
	a.log.Debug("upload started", "conn", p.ID, "upload", u.ID, "size", u.Size)
	res := protocol.DocumentUploadResult{UploadID: u.ID}
	if u.Size > 0 {
		// Browsers send a Blob over HTTP many times faster than in
		// WebSocket frames (docs/performance.md); frames stay the
		// fallback.
		if res.UploadURL, err = p.UploadURL(wsserver.UploadTarget{ID: u.ID, Size: u.Size}); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// documentUploadURL gives one HTTP upload URL for several uploads of the
// connection that have received nothing yet: the page sends their bytes
// one after another in one request, which browsers do much faster than
// one request per small document (docs/performance.md).
func (a *Agent) documentUploadURL(p *wsserver.Peer, req protocol.Request) (any, error) {
	var params protocol.DocumentUploadURLParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	if p.Transport == wsserver.TransportNative {
		return nil, protocol.BadRequest("this connection comes through the browser extension, which has no HTTP uploads: send the documents in binary frames")
	}
	set := a.uploadSet(p)
	targets := make([]wsserver.UploadTarget, 0, len(params.UploadIDs))
	for i, id := range params.UploadIDs {
		size, ok := set.Pending(id)
		if !ok {
			return nil, protocol.BadRequest("params.uploadIds[%d]: upload %d is unknown, or bytes have already arrived for it", i, id)
		}
		targets = append(targets, wsserver.UploadTarget{ID: id, Size: size})
	}
	url, err := p.UploadURL(targets...)
	if err != nil {
		return nil, err
	}
	return protocol.DocumentUploadURLResult{UploadURL: url}, nil
}

func (a *Agent) documentDiscard(p *wsserver.Peer, req protocol.Request) (any, error) {
	var params protocol.DocumentDiscardParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	if params.DownloadID != nil {
		if !a.heldFor(p).release(*params.DownloadID) {
			return nil, protocol.BadRequest("unknown download id %d: it was never given, or is discarded already", *params.DownloadID)
		}
		return struct{}{}, nil
	}
	if err := a.uploadSet(p).Discard(*params.UploadID); err != nil {
		if errors.Is(err, upload.ErrClaimed) {
			return nil, protocol.BadRequest("upload %d belongs to a running sign request; cancel that request instead (request.cancel)", *params.UploadID)
		}
		return nil, protocol.BadRequest("unknown upload id %d: it was never started, already signed or discarded", *params.UploadID)
	}
	return struct{}{}, nil
}

// Upload implements wsserver.Handler: a binary frame's payload for an
// upload. Any error discards the upload.
func (a *Agent) Upload(p *wsserver.Peer, id uint64, payload []byte) error {
	err := a.uploadSet(p).Write(id, payload)
	switch {
	case err == nil:
		a.metrics.Hashed(len(payload))
		return nil
	case errors.Is(err, upload.ErrUnknown):
		return protocol.BadRequest("unknown upload id %d: start an upload with document.upload first; a frame after completion or discard is refused too", id)
	case errors.Is(err, upload.ErrTooMany):
		return tooLarge(fmt.Sprintf("upload %d: at most %d uploads may receive bytes at once on one connection; finish sending one before starting the next. The upload is discarded", id, a.conf().Limits.Uploads))
	case errors.Is(err, upload.ErrOverflow):
		return protocol.BadRequest("upload %d: more bytes than its declared size; the upload is discarded", id)
	}
	return err
}

// Closed implements wsserver.Handler: the connection's documents go.
func (a *Agent) Closed(p *wsserver.Peer) {
	a.umu.Lock()
	s := a.uploads[p.ID]
	delete(a.uploads, p.ID)
	h := a.results[p.ID]
	delete(a.results, p.ID)
	a.umu.Unlock()
	if h != nil {
		h.close()
	}
	if s != nil {
		s.Close()
	}
	a.log.Debug("connection closed", "conn", p.ID, "origin", p.Origin)
}

// consumeNamed discards every upload that a sign request's params name,
// whether or not the request got far enough to take them: a sign request
// consumes the documents it names, whatever its outcome, so a refused
// request leaves nothing behind. It reads params leniently, since they may
// be the reason the request was refused.
func (a *Agent) consumeNamed(p *wsserver.Peer, params json.RawMessage) {
	var named struct {
		Items []struct {
			UploadID        *uint64 `json:"uploadId"`
			ContentUploadID *uint64 `json:"contentUploadId"`
		} `json:"items"`
		Appearance *struct {
			Image *struct {
				UploadID *uint64 `json:"uploadId"`
			} `json:"image"`
		} `json:"appearance"`
	}
	_ = json.Unmarshal(params, &named)
	set := a.uploadSet(p)
	ids := []*uint64{}
	for _, it := range named.Items {
		ids = append(ids, it.UploadID, it.ContentUploadID)
	}
	if ap := named.Appearance; ap != nil && ap.Image != nil {
		ids = append(ids, ap.Image.UploadID)
	}
	for _, id := range ids {
		if id != nil {
			_ = set.Discard(*id)
		}
	}
}
