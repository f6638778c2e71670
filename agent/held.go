package agent

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/protocol"
)

// Results too large for an answer (an encrypted or opened document of
// megabytes) are held for the page to fetch: over HTTP from a download
// URL, or in pieces with document.download. They die with their
// connection or document.discard.

// errReleased means a held result was discarded.
var errReleased = errors.New("the result was discarded")

// held is one result held for a page.
type held struct {
	id   uint64
	size int64
	url  string
	// open reads the result from its start; release frees what it holds.
	open    func() (io.Reader, error)
	release func()

	mu   sync.Mutex
	gone bool
	// rd and pos continue document.download where its last piece ended.
	rd  io.Reader
	pos int64
}

// Size implements wsserver.Download.
func (h *held) Size() int64 { return h.size }

// Open implements wsserver.Download.
func (h *held) Open() (io.ReadCloser, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gone {
		return nil, errReleased
	}
	r, err := h.open()
	if err != nil {
		return nil, err
	}
	return io.NopCloser(r), nil
}

// piece reads length bytes at offset: on from the last piece when it
// continues it, else from the start.
func (h *held) piece(offset, length int64) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gone {
		return nil, errReleased
	}
	if offset > h.size {
		offset = h.size
	}
	if h.rd == nil || offset != h.pos {
		r, err := h.open()
		if err != nil {
			return nil, err
		}
		if _, err := io.CopyN(io.Discard, r, offset); err != nil {
			return nil, err
		}
		h.rd, h.pos = r, offset
	}
	buf := make([]byte, min(length, h.size-offset))
	n, err := io.ReadFull(h.rd, buf)
	h.pos += int64(n)
	if err != nil && !(errors.Is(err, io.EOF) && h.pos == h.size) {
		h.rd = nil
		return nil, err
	}
	return buf[:n], nil
}

func (h *held) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.gone {
		h.gone = true
		h.rd = nil
		h.release()
	}
}

// heldSet is a connection's held results.
type heldSet struct {
	mu     sync.Mutex
	next   uint64
	byID   map[uint64]*held
	closed bool
	peer   *wsserver.Peer
}

// heldFor returns the connection's held results.
func (a *Agent) heldFor(p *wsserver.Peer) *heldSet {
	a.umu.Lock()
	defer a.umu.Unlock()
	s, ok := a.results[p.ID]
	if !ok {
		s = &heldSet{byID: map[uint64]*held{}, peer: p, closed: p.Context().Err() != nil}
		if !s.closed {
			a.results[p.ID] = s
		}
	}
	return s
}

// hold keeps a result for the page and names it in the answer's item.
// When the connection has closed the result is released at once.
func (s *heldSet) hold(size int64, open func() (io.Reader, error), release func()) (protocol.Held, error) {
	h := &held{size: size, open: open, release: release}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		release()
		return protocol.Held{}, errors.New("the connection has closed")
	}
	s.next++
	h.id = s.next
	s.byID[h.id] = h
	s.mu.Unlock()
	url, err := s.peer.DownloadURL(h)
	if err != nil {
		s.release(h.id)
		return protocol.Held{}, err
	}
	h.url = url
	return protocol.Held{DownloadID: h.id, DownloadURL: url}, nil
}

// kept is the results one request holds: released again if the request
// fails after holding some, so that a failure leaves nothing behind.
type kept struct {
	s   *heldSet
	ids []uint64
	ok  bool
}

func (s *heldSet) request() *kept { return &kept{s: s} }

func (k *kept) hold(size int64, open func() (io.Reader, error), release func()) (protocol.Held, error) {
	h, err := k.s.hold(size, open, release)
	if err == nil {
		k.ids = append(k.ids, h.DownloadID)
	}
	return h, err
}

// done keeps them: the answer names them.
func (k *kept) done() { k.ok = true }

// undo releases them unless done was called.
func (k *kept) undo() {
	if !k.ok {
		for _, id := range k.ids {
			k.s.release(id)
		}
	}
}

func (s *heldSet) get(id uint64) (*held, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.byID[id]
	return h, ok
}

// release drops one result; false when the id is unknown.
func (s *heldSet) release(id uint64) bool {
	s.mu.Lock()
	h, ok := s.byID[id]
	delete(s.byID, id)
	s.mu.Unlock()
	if ok {
		if h.url != "" {
			s.peer.ForgetDownload(h.url)
		}
		h.drop()
	}
	return ok
}

// close drops every result (the connection has ended).
func (s *heldSet) close() {
	s.mu.Lock()
	s.closed = true
	all := s.byID
	s.byID = map[uint64]*held{}
	s.mu.Unlock()
	for _, h := range all {
		h.drop()
	}
}

// documentDownload is document.download: a piece of a held result, for
// pages that reach no download URL (the browser extension) and for the
// CLI on the local channel.
func (a *Agent) documentDownload(p *wsserver.Peer, req protocol.Request) (any, error) {
	var params protocol.DocumentDownloadParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	h, ok := a.heldFor(p).get(*params.DownloadID)
	if !ok {
		return nil, protocol.BadRequest("unknown download id %d: it was never given, or is discarded already", *params.DownloadID)
	}
	data, err := h.piece(params.Offset, params.Length)
	if err != nil {
		e := protocol.NewError(protocol.ReasonInternal, "The held result could not be read; ask for it again.")
		e.Data.Detail = fmt.Sprintf("download %d: %v", h.id, err)
		return nil, e
	}
	return protocol.DocumentDownloadResult{Data: data, EOF: params.Offset+int64(len(data)) >= h.size}, nil
}
