package wsserver

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/protocol"
)

// writeWait bounds one write to the page.
const writeWait = 10 * time.Second

// Peer is one connected page.
type Peer struct {
	// ID numbers connections for logs; it is not sent to pages.
	ID uint64
	// Origin is the page's origin, checked before the upgrade.
	Origin string
	// Transport is TransportWebSocket, or TransportNative for a page
	// reached through the browser extension and the local channel.
	Transport string

	s      *Server
	limits protocol.Limits // the server's when the connection opened
	ws     *websocket.Conn
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	wmu       sync.Mutex // serialises writes
	closeOnce sync.Once

	mu       sync.Mutex
	inflight map[string]context.CancelCauseFunc

	inMessage atomic.Bool
	chunk     []byte // read buffer for binary frames, allocated on first use
	// active is when the page last sent a message (unix nanoseconds).
	active atomic.Int64
	// host is the Host of the handshake, for upload and download URLs;
	// tokens are the connection's URL tokens, guarded by the server's mu.
	host   string
	tokens []string
}

func (s *Server) newPeer(ws *websocket.Conn, origin string) *Peer {
	ctx, cancel := context.WithCancel(context.Background())
	id := s.nextID.Add(1)
	return &Peer{
		ID: id, Origin: origin, Transport: TransportWebSocket, s: s, ws: ws, ctx: ctx, cancel: cancel, limits: *s.limits.Load(),
		log:      s.cfg.Log.With("conn", id, "origin", origin),
		inflight: map[string]context.CancelCauseFunc{},
	}
}

// Context ends when the connection closes.
func (p *Peer) Context() context.Context { return p.ctx }

// Notify sends a notification to the page.
func (p *Peer) Notify(method string, params any) error {
	return p.write(protocol.NewNotification(method, params))
}

// write sends v as one text message. The JSON is encoded straight into
// the frame writer: json.Marshal would copy a large result (a batch of
// signed PDFs is megabytes of base64) once more into a slice of its own.
func (p *Peer) write(v any) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.SetWriteDeadline(time.Now().Add(writeWait))
	w, err := p.ws.NextWriter(websocket.TextMessage)
	if err == nil {
		// Encode marshals the whole value before writing a byte, so an
		// encoding error leaves the message empty; the connection is
		// closed then, as for a write error.
		err = encode(w, v)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		p.cancel()
		_ = p.ws.Close()
		return fmt.Errorf("failed to write to the page: %w", err)
	}
	return nil
}

// encode writes v as JSON; a response whose result streams itself (a
// batch of signed documents) is written item by item.
func encode(w io.Writer, v any) error {
	r, ok := v.(protocol.Response)
	sr, streams := r.Result.(protocol.StreamedResult)
	if !ok || !streams || r.Error != nil {
		return json.NewEncoder(w).Encode(v)
	}
	id, err := json.Marshal(r.ID)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, `{"jsonrpc":%q,"id":%s,"result":`, r.JSONRPC, id); err != nil {
		return err
	}
	if err := sr.WriteJSON(w); err != nil {
		return err
	}
	_, err = io.WriteString(w, "}\n")
	return err
}

// close sends a close frame with code and reason, then closes the socket.
func (p *Peer) close(code int, reason string) {
	p.closeOnce.Do(func() {
		p.wmu.Lock()
		_ = p.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		p.wmu.Unlock()
		p.cancel()
		_ = p.ws.Close()
	})
}

// serve reads frames until the connection ends.
func (p *Peer) serve() {
	defer p.close(websocket.CloseNormalClosure, "")
	cfg := p.s.cfg
	textLimit, binLimit := p.limits.TextFrameBytes, p.limits.BinaryFrameBytes
	// gorilla enforces this ceiling itself (answering 1009); the exact
	// per-type limit is checked below.
	p.ws.SetReadLimit(max(textLimit, binLimit))
	_ = p.ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	p.ws.SetPongHandler(func(string) error {
		// A pong keeps an idle connection open, but never extends a
		// message that is arriving too slowly.
		if !p.inMessage.Load() {
			_ = p.ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
		}
		return nil
	})
	go p.ping()
	for {
		mt, r, err := p.ws.NextReader()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				p.log.Debug("connection ended", "err", err)
			}
			return
		}
		// The whole message must arrive within PongWait.
		p.inMessage.Store(true)
		p.active.Store(time.Now().UnixNano())
		_ = p.ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
		if mt == websocket.BinaryMessage {
			err = p.streamBinary(r, binLimit)
			if errors.Is(err, errShortFrame) {
				_ = p.Notify(protocol.NotifyDocumentError, protocol.DocumentError{Error: protocol.BadRequest("a binary frame starts with an 8-byte big-endian upload id")})
				err = nil
			}
		} else {
			var data []byte
			data, err = io.ReadAll(io.LimitReader(r, textLimit+1))
			if err == nil && int64(len(data)) > textLimit {
				err = errTooBig
			}
			if err == nil {
				p.inMessage.Store(false)
				p.handleText(data)
			}
		}
		p.inMessage.Store(false)
		if errors.Is(err, errTooBig) {
			limit := textLimit
			if mt == websocket.BinaryMessage {
				limit = binLimit
			}
			p.log.Warn("closing: frame over the limit", "limit", limit)
			p.close(websocket.CloseMessageTooBig, fmt.Sprintf("frame over %d bytes", limit))
			return
		}
		if err != nil {
			p.log.Debug("failed to read a message", "err", err)
			return
		}
		_ = p.ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	}
}

var (
	errTooBig     = errors.New("frame over the limit")
	errShortFrame = errors.New("binary frame shorter than its upload id")
)

// chunkSize is how much of a binary frame is handed to the Handler at a
// time; frames are streamed, never held whole.
const chunkSize = 256 << 10

// streamBinary passes a binary frame to the Handler in chunks as it
// arrives: `[8-byte big-endian uploadId][payload]`. After a refused chunk
// the rest of the frame is read and dropped.
func (p *Peer) streamBinary(r io.Reader, limit int64) error {
	var hdr [8]byte
	n, err := io.ReadFull(r, hdr[:])
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return errShortFrame
	}
	if err != nil {
		return err
	}
	id := binary.BigEndian.Uint64(hdr[:])
	if p.chunk == nil {
		p.chunk = make([]byte, chunkSize)
	}
	total := int64(n)
	refused := false
	for {
		m, err := r.Read(p.chunk)
		total += int64(m)
		if total > limit {
			return errTooBig
		}
		if m > 0 && !refused {
			if uerr := p.s.h.Upload(p, id, p.chunk[:m]); uerr != nil {
				refused = true
				p.uploadError(id, uerr)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// idle reports whether the connection has been without messages and
// without running requests for longer than the server's IdleTimeout.
func (p *Peer) idle() bool {
	if p.s.cfg.IdleTimeout <= 0 || p.inMessage.Load() {
		return false
	}
	p.mu.Lock()
	running := len(p.inflight)
	p.mu.Unlock()
	return running == 0 && time.Since(time.Unix(0, p.active.Load())) > p.s.cfg.IdleTimeout
}

func (p *Peer) ping() {
	t := time.NewTicker(min(p.s.cfg.PingInterval, max(p.s.cfg.IdleTimeout/4, 10*time.Millisecond)))
	defer t.Stop()
	lastPing := time.Now()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
			if p.idle() {
				// A connection nobody uses must not hold one of the
				// agent's few slots: the page reconnects when it needs
				// the agent again.
				p.log.Debug("closing an idle connection", "idle", p.s.cfg.IdleTimeout)
				p.close(websocket.CloseGoingAway, "idle: no request for a while; reconnect when needed")
				return
			}
			if time.Since(lastPing) < p.s.cfg.PingInterval {
				continue
			}
			lastPing = time.Now()
			p.wmu.Lock()
			err := p.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait))
			p.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

func (p *Peer) respond(id protocol.ID, result any, err error) {
	if err == nil {
		_ = p.write(protocol.NewResult(id, result))
		return
	}
	pe, ok := protocol.AsError(err)
	if !ok {
		p.log.Error("request failed", "id", id.String(), "err", err)
		pe = protocol.NewError(protocol.ReasonInternal, "The agent failed unexpectedly; the details are in its log.")
	}
	_ = p.write(protocol.NewErrorResponse(id, pe))
}

func (p *Peer) handleText(data []byte) {
	req, perr := protocol.ParseRequest(data)
	if perr != nil {
		p.respond(req.ID, nil, perr)
		return
	}
	if req.Method == protocol.MethodRequestCancel {
		result, err := p.cancelRequest(req)
		p.respond(req.ID, result, err)
		return
	}
	key := req.ID.String()
	p.mu.Lock()
	if _, dup := p.inflight[key]; dup {
		p.mu.Unlock()
		p.respond(req.ID, nil, protocol.NewError(protocol.ReasonInvalidRequest, "A request with this id is still running; use a new id."))
		return
	}
	if len(p.inflight) >= p.s.cfg.MaxInFlight {
		p.mu.Unlock()
		p.respond(req.ID, nil, protocol.NewError(protocol.ReasonBusy, "Too many requests at once on this connection; wait for earlier ones to finish."))
		return
	}
	ctx, cancel := context.WithCancelCause(p.ctx)
	p.inflight[key] = cancel
	p.mu.Unlock()
	go func() {
		result, err := p.serveSafely(ctx, req)
		// Free the id before answering: once the page has the answer it
		// may reuse the id.
		p.mu.Lock()
		delete(p.inflight, key)
		p.mu.Unlock()
		cancel(nil)
		p.respond(req.ID, result, err)
	}()
}

// serveSafely turns a handler panic into an internal error: no input may
// bring the agent down.
func (p *Peer) serveSafely(ctx context.Context, req protocol.Request) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("handler panicked", "method", req.Method, "panic", r, "stack", string(debug.Stack()))
			result, err = nil, errors.New("handler panicked")
		}
	}()
	return p.s.h.Serve(ctx, p, req)
}

func (p *Peer) cancelRequest(req protocol.Request) (any, error) {
	var params protocol.CancelParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	p.mu.Lock()
	cancel, ok := p.inflight[params.ID.String()]
	p.mu.Unlock()
	if ok {
		cancel(ErrCancelRequested)
	}
	// Cancelling a request that already finished is not an error: the
	// page cannot know which of the two answers crossed first.
	return struct{}{}, nil
}

func (p *Peer) uploadError(id uint64, err error) {
	pe, ok := protocol.AsError(err)
	if !ok {
		p.log.Error("upload failed", "upload", id, "err", err)
		pe = protocol.NewError(protocol.ReasonInternal, "The agent failed unexpectedly; the details are in its log.")
	}
	_ = p.Notify(protocol.NotifyDocumentError, protocol.DocumentError{UploadID: id, Error: pe})
}
