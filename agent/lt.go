package agent

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"

	"github.com/tte-agent/tte-agent/agent/config"
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

// resultRevocation is the revocation member of a sign result.
func (ds *docSigning) resultRevocation() *protocol.RevocationInfo {
	ri := ds.check.info
	if ds.downgrade != "" {
		ri.Detail = ds.downgrade
	}
	return &ri
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
	return a.tsaFailed(firstErr).WithCompleted(finished)
}

// tsaFailed answers a request whose time-stamp could not be had.
func (a *Agent) tsaFailed(err error) *protocol.Error {
	a.log.Warn("time-stamp failed", "tsa", a.conf().TSA.URL, "err", err)
	e := protocol.NewError(protocol.ReasonUpstreamFailed, "The time-stamping authority failed; try again later or ask for level B-B.")
	if errors.Is(err, tsa.ErrFailed) {
		e.Data.Detail = err.Error()
	}
	return e
}
