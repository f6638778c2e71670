package agent

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tte-agent/tte-agent/protocol"
)

// watchTokens is the slot watcher: it reads the token list every poll
// interval (PKCS#11's C_WaitForSlotEvent is unreliable across modules),
// re-initialises idle modules every rescan interval (0: never) so that
// tokens a module only finds at start are seen, and calls changed with the
// new list when tokens arrive, leave, or change label or PIN status. It
// returns when ctx ends.
func (a *Agent) watchTokens(ctx context.Context, poll, rescan time.Duration, changed func([]protocol.Token)) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	last, ok := a.readTokens()
	lastRescan := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if rescan > 0 && time.Since(lastRescan) >= rescan {
			a.tokens.Rescan()
			lastRescan = time.Now()
		}
		now, nowOK := a.readTokens()
		if !nowOK {
			continue
		}
		if ok && slices.EqualFunc(now, last, func(x, y protocol.Token) bool { return x == y }) {
			continue
		}
		if ok {
			a.log.Info("tokens changed", "tokens", len(now))
			changed(now)
		}
		last, ok = now, true
	}
}

// readTokens lists the tokens in a stable order.
func (a *Agent) readTokens() ([]protocol.Token, bool) {
	toks, err := a.tokens.Tokens()
	if err != nil {
		a.log.Warn("slot watcher failed to list tokens", "err", err)
		return nil, false
	}
	w := wireTokens(toks)
	slices.SortFunc(w, func(x, y protocol.Token) int { return strings.Compare(x.ID, y.ID) })
	return w, true
}
