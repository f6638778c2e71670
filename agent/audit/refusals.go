package audit

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Refusals rate-limits refusal records, whose strings an attacker
// chooses and whose number an attacker controls: the first refusal of an
// origin, host, method and reason in an interval is written at once; the
// rest are counted and written as one record (Count) when the interval
// ends. At most maxKeys kinds are tracked at once; beyond them refusals
// are counted under their reason alone.
type Refusals struct {
	write    func(Record)
	interval time.Duration

	mu      sync.Mutex
	pending map[refusalKey]*refusalCount
	stop    chan struct{}
	done    chan struct{}
}

type refusalKey struct{ origin, host, method, outcome string }

type refusalCount struct {
	rec   Record
	extra int // refusals after the first in this interval
}

// maxKeys bounds the kinds of refusal tracked in one interval.
const maxKeys = 64

// NewRefusals starts a limiter that writes through write and flushes
// every interval until Close.
func NewRefusals(interval time.Duration, write func(Record)) *Refusals {
	r := &Refusals{write: write, interval: interval, pending: map[refusalKey]*refusalCount{}, stop: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// Add records one refusal; host is the request's Host header ("" for a
// refused request on an open connection). The caller cleans and shortens
// the strings an attacker chose.
func (r *Refusals) Add(rec Record, host string) {
	if host != "" {
		rec.Detail = strings.TrimSpace(rec.Detail + " (Host " + host + ")")
	}
	rec.Event = EventRefused
	key := refusalKey{rec.Origin, host, rec.Method, rec.Outcome}
	r.mu.Lock()
	c, ok := r.pending[key]
	if !ok && len(r.pending) >= maxKeys {
		key = refusalKey{outcome: rec.Outcome}
		c, ok = r.pending[key]
		rec = Record{Event: EventRefused, Outcome: rec.Outcome, Detail: "refusals of many origins and hosts, counted together"}
	}
	if ok {
		c.extra++
		r.mu.Unlock()
		return
	}
	rec.Count = 1
	r.pending[key] = &refusalCount{rec: rec}
	r.mu.Unlock()
	r.write(rec)
}

func (r *Refusals) run() {
	defer close(r.done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			r.flush()
			return
		case <-t.C:
			r.flush()
		}
	}
}

// flush writes one record per kind refused more than once in the
// interval, and starts a new interval.
func (r *Refusals) flush() {
	r.mu.Lock()
	pending := r.pending
	r.pending = map[refusalKey]*refusalCount{}
	r.mu.Unlock()
	for _, c := range pending {
		if c.extra == 0 {
			continue
		}
		rec := c.rec
		rec.Count = c.extra
		rec.Detail = strings.TrimSpace(fmt.Sprintf("%d more like this within %v: %s", c.extra, r.interval, rec.Detail))
		rec.Time = time.Time{}
		r.write(rec)
	}
}

// Close writes what is pending and stops the limiter.
func (r *Refusals) Close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
}
