package audit

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Refusals rate-limits refusal records, whose strings an attacker
// chooses and whose number an attacker controls: the first refusal of an
// origin, host, method and reason in an interval is written at once; the
// rest are counted and written as one record (Count) when the interval
// ends. Strings are cleaned and truncated. At most maxKeys kinds are
// tracked at once; beyond them refusals are counted under their reason
// alone.
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

// maxField bounds an attacker-chosen string in a record.
const maxField = 128

// NewRefusals starts a limiter that writes through write and flushes
// every interval until Close.
func NewRefusals(interval time.Duration, write func(Record)) *Refusals {
	r := &Refusals{write: write, interval: interval, pending: map[refusalKey]*refusalCount{}, stop: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// Clean makes an attacker-chosen string safe for a record: control and
// format characters become '?', and it is cut to maxField bytes.
func Clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return '?'
		}
		return r
	}, s)
	if len(s) > maxField {
		cut := maxField
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// Add records one refusal; host is the request's Host header ("" for a
// refused request on an open connection).
func (r *Refusals) Add(rec Record, host string) {
	rec.Origin, host = Clean(rec.Origin), Clean(host)
	rec.Detail = Clean(rec.Detail)
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
