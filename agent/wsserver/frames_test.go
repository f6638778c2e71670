package wsserver

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

// TestNonLoopbackPeerRefused: a request that does not come from a
// loopback address is refused before anything else is looked at.
func TestNonLoopbackPeerRefused(t *testing.T) {
	s := New(Config{UID: -1, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Limits: protocol.Limits{TextFrameBytes: 1024, BinaryFrameBytes: 1024, Connections: 4}}, echo{})
	s.port.Store(14545)
	for _, remote := range []string{"192.0.2.10:5000", "[2001:db8::1]:5000", "10.0.0.2:1"} {
		req := httptest.NewRequest("GET", "http://127.0.0.1:14545/v1", nil)
		req.RemoteAddr = remote
		req.Host = "127.0.0.1:14545"
		req.Header.Set("Origin", origin)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "only connections from this computer") {
			t.Errorf("peer %s: %d %q, want 403", remote, rec.Code, rec.Body.String())
		}
	}
}

// recorder is a Handler that keeps the upload chunks it is given.
type recorder struct {
	echo
	got bytes.Buffer
	ids []uint64
}

func (r *recorder) Upload(_ *Peer, id uint64, payload []byte) error {
	r.ids = append(r.ids, id)
	r.got.Write(payload)
	return nil
}

// FuzzBinaryFrame: any binary frame is either refused or delivered
// intact, in chunks, to the upload its header names; nothing panics.
func FuzzBinaryFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 7, 'a', 'b'})
	f.Add([]byte{1, 2, 3})
	f.Add(append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, make([]byte, 600<<10)...))
	f.Fuzz(func(t *testing.T, frame []byte) {
		h := &recorder{}
		s := New(Config{UID: -1, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Limits: protocol.Limits{TextFrameBytes: 1 << 20, BinaryFrameBytes: 1 << 20, Connections: 1}}, h)
		p := &Peer{s: s, log: s.cfg.Log, limits: s.cfg.Limits}
		var err error
		testscale.Within(t, 200*time.Millisecond, "streaming the frame", func() { err = p.streamBinary(bytes.NewReader(frame), 1<<20) })
		switch {
		case len(frame) > 1<<20:
			if err != errTooBig {
				t.Fatalf("a %d-byte frame was not refused: %v", len(frame), err)
			}
		case len(frame) < 8:
			if err != errShortFrame {
				t.Fatalf("a %d-byte frame: %v, want errShortFrame", len(frame), err)
			}
		case err != nil:
			t.Fatalf("frame refused: %v", err)
		case !bytes.Equal(h.got.Bytes(), frame[8:]):
			t.Fatalf("payload changed in transit")
		}
	})
}
