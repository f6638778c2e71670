package agent

import (
	"sync"
	"time"

	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/protocol"
)

// progressInterval is how often item progress is sent at most while items
// finish faster than that; a slower token reports every item.
const progressInterval = 100 * time.Millisecond

// progress sends a request's progress notifications: every stage change,
// and item counts throttled to progressInterval (the last item always).
type progress struct {
	mu    sync.Mutex // item is called from parallel sessions
	peer  *wsserver.Peer
	id    protocol.ID
	total int
	done  int
	// after counts items whose time-stamp and validation data are done
	// (they follow the signatures while the token signs): the done count
	// of the timestamping stage.
	after int
	cur   protocol.Stage
	last  time.Time
}

func newProgress(p *wsserver.Peer, id protocol.ID, total int) *progress {
	return &progress{peer: p, id: id, total: total}
}

// stage starts a stage; its item count starts at zero.
func (p *progress) stage(s protocol.Stage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur = s
	p.done = 0
	if s == protocol.StageTimestamping {
		p.done = p.after
	}
	p.send()
}

// afterItem records one item whose time-stamp and validation data are
// done; it shows once the timestamping stage has begun.
func (p *progress) afterItem() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.after++
	if p.cur != protocol.StageTimestamping {
		return
	}
	p.done = p.after
	if p.done == p.total || time.Since(p.last) >= progressInterval {
		p.send()
	}
}

// item records one finished item.
func (p *progress) item() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.done == p.total || time.Since(p.last) >= progressInterval {
		p.send()
	}
}

func (p *progress) send() {
	p.last = time.Now()
	_ = p.peer.Notify(protocol.NotifyProgress, protocol.Progress{ID: p.id, Stage: p.cur, Done: p.done, Total: p.total})
}
