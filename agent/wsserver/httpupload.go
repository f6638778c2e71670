package wsserver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tte-agent/tte-agent/protocol"
)

// UploadPath is where a page sends an upload's bytes over HTTP, the fast
// path: PUT UploadPath + token, the token coming from document.upload
// (docs/protocol.md, "Uploading over HTTP").
const UploadPath = "/v1/upload/"

// httpIdle bounds the wait for the next bytes of an HTTP upload.
const httpIdle = 60 * time.Second

// UploadTarget is one upload an upload URL writes: its id and declared
// size.
type UploadTarget struct {
	ID   uint64
	Size int64
}

// httpUpload is what one upload URL may write to: the uploads in order,
// each taking its declared size of the body.
type httpUpload struct {
	peer    *Peer
	targets []UploadTarget
}

// UploadURL returns a one-time URL through which the page may send the
// targets' bytes, one after another in one request body, instead of
// binary frames. The URL carries 256 random bits; it is good for one
// request, only from the connection's origin, and dies with the
// connection.
func (p *Peer) UploadURL(targets ...UploadTarget) (string, error) {
	if p.Transport == TransportNative {
		// A page behind the extension reaches no HTTP listener: its
		// bytes come in the channel's binary frames.
		return "", nil
	}
	return p.newURL(UploadPath, func(s *Server, tok string) {
		if s.httpUploads == nil {
			s.httpUploads = map[string]httpUpload{}
		}
		s.httpUploads[tok] = httpUpload{peer: p, targets: targets}
	})
}

// newURL mints a URL of the connection under path: 256 random bits,
// registered by add (under the server's mu) and remembered so that the
// connection's end forgets it.
func (p *Peer) newURL(path string, add func(s *Server, tok string)) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b[:])
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || p.ctx.Err() != nil {
		return "", errors.New("the connection has closed")
	}
	add(s, tok)
	p.tokens = append(p.tokens, tok)
	return "http://" + p.host + path + tok, nil
}

// forgetURLs removes the connection's upload and download URLs (it has
// closed).
func (s *Server) forgetURLs(p *Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range p.tokens {
		delete(s.httpUploads, t)
		delete(s.downloads, t)
	}
	p.tokens = nil
}

// upload answers PUT or POST /v1/upload/TOKEN (and its CORS preflight): the same
// checks as the WebSocket, then the body goes to the Handler chunk by
// chunk, as a binary frame's payload does, so every limit and quota of
// the upload applies and its bytes are hashed and spooled as they arrive.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	// POST of an untyped body is a CORS "simple" request: browsers send it
	// without a preflight, one round trip less per document.
	origin, ok := s.pageRequest(w, r, "an HTTP upload", []string{http.MethodPut, http.MethodPost}, func(h http.Header) {
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Max-Age", "600")
	})
	if !ok {
		return
	}
	tok := strings.TrimPrefix(r.URL.Path, UploadPath)
	s.mu.Lock()
	up, ok := s.httpUploads[tok]
	mine := ok && up.peer.Origin == origin
	if mine {
		delete(s.httpUploads, tok) // one request per URL, whatever happens
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "not found: this upload URL is unknown, used already, or its connection has closed; start the upload again with document.upload", http.StatusNotFound)
		return
	}
	if !mine {
		http.Error(w, "forbidden: this upload URL belongs to another page", http.StatusForbidden)
		return
	}
	p := up.peer
	rc := http.NewResponseController(w)
	buf := make([]byte, chunkSize)
	refuse := func(id uint64, uerr error) {
		p.uploadError(id, uerr)
		msg := uerr.Error()
		if pe, ok := protocol.AsError(uerr); ok {
			msg = pe.Message
			if pe.Data.Detail != "" {
				msg = pe.Data.Detail
			}
		}
		http.Error(w, "bad request: "+msg, http.StatusBadRequest)
	}
	for i := 0; ; {
		// Uploads of size 0 take nothing from the body.
		for i < len(up.targets) && up.targets[i].Size == 0 {
			i++
		}
		// A slow page may take its time, but must keep sending; the
		// WebSocket is not idle while its upload flows.
		_ = rc.SetReadDeadline(time.Now().Add(httpIdle))
		want := len(buf)
		if i < len(up.targets) {
			want = int(min(int64(want), up.targets[i].Size))
		}
		n, err := r.Body.Read(buf[:max(want, 1)])
		if n > 0 {
			if p.ctx.Err() != nil {
				http.Error(w, "gone: the page's connection to the agent closed, and its uploads with it", http.StatusGone)
				return
			}
			p.active.Store(time.Now().UnixNano())
			if i >= len(up.targets) {
				last := up.targets[len(up.targets)-1].ID
				refuse(last, protocol.BadRequest("upload %d: more bytes than its declared size; the upload is discarded", last))
				return
			}
			if uerr := s.h.Upload(p, up.targets[i].ID, buf[:n]); uerr != nil {
				refuse(up.targets[i].ID, uerr)
				return
			}
			up.targets[i].Size -= int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			p.log.Debug("HTTP upload broke off", "err", err)
			return
		}
	}
	_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	w.WriteHeader(http.StatusNoContent)
}
