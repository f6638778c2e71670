package agent

import (
	"context"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
)

// refusalInterval is how long refusals of one kind are counted into one
// record.
const refusalInterval = time.Minute

// refused audits a refused handshake (host is its Host header) or a sign
// request refused before its dialog, through the rate limiter.
func (a *Agent) refused(r audit.Record, host string) {
	if a.refusals == nil {
		r.Event = audit.EventRefused
		r.Origin, r.Detail = audit.Clean(r.Origin), audit.Clean(r.Detail)
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
