package agent

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"

	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/tsa"
)

// stampParallel is how many time-stamp requests one request keeps in
// flight: enough to hide a distant TSA's latency, few enough not to
// flood it.
const stampParallel = 16

// prepareLT gathers, before the dialog, the signer chain's validation data
// for B-LT and above. When it cannot be had, [revocation] mode decides:
// require refuses (upstream_failed), prefer signs at B-T and says so.
func (a *Agent) prepareLT(ctx context.Context, ds *docSigning) error {
	if ds.level.Rank() < protocol.LevelBLT.Rank() {
		return nil
	}
	lt, err := a.ltDataFor(ctx, ds.check, nil)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return a.noLT(ds, err)
	}
	ds.lt = lt
	return nil
}

// noLT applies [revocation] mode to missing long-term data.
func (a *Agent) noLT(ds *docSigning, err error) error {
	if a.conf().Revocation.Mode == config.RevocationRequire {
		e := protocol.NewError(protocol.ReasonUpstreamFailed, "The validation data a long-term signature needs could not be had; try again later or ask for level B-T.")
		e.Data.Detail = err.Error()
		return e
	}
	a.log.Warn("signing without long-term validation data", "level", ds.level, "err", err)
	ds.level, ds.lt = protocol.LevelBT, nil
	ds.downgrade = fmt.Sprintf("signed at B-T instead of the requested level: %v", err)
	return nil
}

// finishLT adds the time-stamping authorities' validation data after the
// time-stamps, and for CMS puts everything into each signature.
func (a *Agent) finishLT(ctx context.Context, ds *docSigning, signed []*cms.SignedData) error {
	tokens := make([][]byte, 0, len(signed))
	for _, sd := range signed {
		if t := sd.TimestampToken(); t != nil {
			tokens = append(tokens, t)
		}
	}
	seen := map[string]bool{}
	for _, tok := range tokens {
		leaf, _, err := tsaCertificates(tok)
		if err == nil && seen[string(leaf.Raw)] {
			continue
		}
		if err == nil {
			seen[string(leaf.Raw)] = true
		}
		if err := a.tsaData(ctx, a.trust, ds.lt, tok); err != nil {
			if ctx.Err() != nil {
				return a.contextError(ctx, ctx.Err(), len(signed))
			}
			return a.noLT(ds, err)
		}
	}
	return nil
}

// resultRevocation is the revocation member of a sign result.
func (ds *docSigning) resultRevocation() *protocol.RevocationInfo {
	ri := ds.check.info
	if ds.downgrade != "" {
		ri.Detail = ds.downgrade
	}
	return &ri
}

// timestamp adds a signature time-stamp to each signature, after logout
// (the token is not held while the TSA answers), stampParallel at a time;
// the TSA client retries transient failures.
func (a *Agent) timestamp(ctx context.Context, signed []*cms.SignedData, h crypto.Hash, prog *progress) error {
	prog.stage(protocol.StageTimestamping)
	tokens := make([][]byte, len(signed))
	err := a.stampAll(ctx, len(signed), h, func(i int) []byte {
		d := h.New()
		d.Write(signed[i].Signature())
		return d.Sum(nil)
	}, func(i int, tok []byte) {
		tokens[i] = tok
		prog.item()
	})
	if err != nil {
		return err
	}
	for i, sd := range signed {
		if err := sd.AddTimestamp(tokens[i]); err != nil {
			return err
		}
	}
	return nil
}

// stampAll asks the TSA for n time-stamps over digest(i), stampParallel at
// a time, handing each to done. The first failure stops the rest.
func (a *Agent) stampAll(parent context.Context, n int, h crypto.Hash, digest func(i int) []byte, done func(i int, tok []byte)) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		finished int
		wg       sync.WaitGroup
		sem      = make(chan struct{}, stampParallel)
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			tok, err := a.tsa.Stamp(ctx, h, digest(i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				return
			}
			finished++
			done(i, tok)
		}()
	}
	wg.Wait()
	if parent.Err() != nil {
		return a.contextError(parent, parent.Err(), finished)
	}
	if firstErr == nil {
		return nil
	}
	a.log.Warn("time-stamp failed", "tsa", a.conf().TSA.URL, "err", firstErr)
	e := protocol.NewError(protocol.ReasonUpstreamFailed, "The time-stamping authority failed; try again later or ask for level B-B.").WithCompleted(finished)
	if errors.Is(firstErr, tsa.ErrFailed) {
		e.Data.Detail = firstErr.Error()
	}
	return e
}
