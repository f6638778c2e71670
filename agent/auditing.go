package agent

import (
	"context"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/consent"
)

// refusalInterval is how long refusals of one kind are counted into one
// record.
const refusalInterval = time.Minute

// maxRefusedField bounds a string an attacker chose (Origin, Host) in a
// refusal record.
const maxRefusedField = 128

// refused audits a refused handshake (host is its Host header) or a sign
// request refused before its dialog, through the rate limiter, with the
// attacker-chosen strings cleaned and shortened.
func (a *Agent) refused(r audit.Record, host string) {
	r.Origin, r.Detail = consent.Clean(r.Origin, maxRefusedField), consent.Clean(r.Detail, 4*maxRefusedField)
	host = consent.Clean(host, maxRefusedField)
	if a.refusals == nil { // an agent not started as a daemon (unit tests)
		r.Event = audit.EventRefused
		_ = a.record(r)
		return
	}
	a.refusals.Add(r, host)
}

// anchorTrail time-stamps the audit trail's head with the configured TSA
// at start and every interval until ctx ends, so that a history rewritten
// or cut later is told by audit verify. A TSA that fails is retried at a
// shorter pace; the failure is logged and counted, signing goes on.
func (a *Agent) anchorTrail(ctx context.Context, interval time.Duration) {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		anchor, err := a.audit.Anchor(actx, a.tsa)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("failed to time-stamp the audit trail; retrying", "err", err)
			a.metrics.AuditFailed()
			wait = min(interval, 5*time.Minute)
			continue
		}
		a.log.Info("audit trail anchored", "record", anchor.Seq, "time", anchor.Time)
		wait = interval
	}
}
