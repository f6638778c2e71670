package agent

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tte-agent/tte-agent/agent/metrics"
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
	if ok {
		a.observeTokens(last)
	}
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
		a.observeTokens(now)
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

// observeTokens gives the metrics the token state and the certificates'
// expiry, read here by the watcher so that a scrape never touches a token.
func (a *Agent) observeTokens(toks []protocol.Token) {
	if a.metrics == nil {
		return
	}
	mt := make([]metrics.Token, len(toks))
	for i, t := range toks {
		mt[i] = metrics.Token{Serial: t.Serial, Label: t.Label, Model: t.Model, PINStatus: t.PINStatus}
	}
	var mc []metrics.Certificate
	if len(toks) > 0 {
		certs, err := a.tokens.Certificates()
		if err != nil {
			a.log.Warn("slot watcher failed to read certificates", "err", err)
		}
		for _, c := range certs {
			mc = append(mc, metrics.Certificate{Token: c.Token, ID: c.ID, Subject: c.Cert.Subject.CommonName, NotAfter: c.Cert.NotAfter})
		}
	}
	a.metrics.SetTokens(mt, mc)
}
