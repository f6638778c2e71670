package wsserver

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DownloadPath is where a page fetches a result held for it, the fast
// path: GET DownloadPath + token, the token coming with the result
// (docs/protocol.md, "Results held for download").
const DownloadPath = "/v1/download/"

// Download is a result the agent holds for a page.
type Download interface {
	// Size is the result's length in bytes.
	Size() int64
	// Open returns a reader of the whole result; an error when the result
	// is gone (discarded).
	Open() (io.ReadCloser, error)
}

type httpDownload struct {
	peer *Peer
	d    Download
}

// DownloadURL returns a URL from which the connection's page may GET d:
// 256 random bits, only from the connection's origin, good until
// ForgetDownload or the connection's end — a transfer that broke off may
// be fetched again. A page behind the extension gets none ("").
func (p *Peer) DownloadURL(d Download) (string, error) {
	if p.Transport == TransportNative {
		return "", nil
	}
	return p.newURL(DownloadPath, func(s *Server, tok string) {
		if s.downloads == nil {
			s.downloads = map[string]httpDownload{}
		}
		s.downloads[tok] = httpDownload{peer: p, d: d}
	})
}

// ForgetDownload removes the URL DownloadURL gave.
func (p *Peer) ForgetDownload(url string) {
	i := strings.LastIndex(url, "/")
	if i < 0 {
		return
	}
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.downloads, url[i+1:])
}

// download answers GET or HEAD /v1/download/TOKEN (and its CORS
// preflight) after the same checks as the WebSocket: the result's bytes,
// streamed as they are read (an opened envelope is decrypted on the way).
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	origin, ok := s.pageRequest(w, r, "a download", []string{http.MethodGet, http.MethodHead}, func(h http.Header) {
		h.Set("Access-Control-Max-Age", "600")
	})
	if !ok {
		return
	}
	tok := strings.TrimPrefix(r.URL.Path, DownloadPath)
	s.mu.Lock()
	dl, ok := s.downloads[tok]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "not found: this download URL is unknown, discarded, or its connection has closed; ask for the result again", http.StatusNotFound)
		return
	}
	if dl.peer.Origin != origin {
		http.Error(w, "forbidden: this download URL belongs to another page", http.StatusForbidden)
		return
	}
	rd, err := dl.d.Open()
	if err != nil {
		http.Error(w, "not found: the result was discarded", http.StatusNotFound)
		return
	}
	defer rd.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(dl.d.Size(), 10))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	buf := make([]byte, chunkSize)
	var sent int64
	for {
		// A page that stops reading is dropped after httpIdle, as an
		// upload that stops sending.
		_ = rc.SetWriteDeadline(time.Now().Add(httpIdle))
		n, err := rd.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
			dl.peer.active.Store(time.Now().UnixNano())
		}
		if err == io.EOF && sent == dl.d.Size() {
			return
		}
		if err != nil || sent > dl.d.Size() {
			// The result went wrong on the way (an envelope changed
			// under it): the response ends short of its Content-Length,
			// which the browser reports as a failed fetch, never as the
			// whole.
			dl.peer.log.Warn("a download broke off", "err", err, "sent", sent)
			panic(http.ErrAbortHandler)
		}
	}
}
