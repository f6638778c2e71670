package agent

import (
	"context"
	"sync"

	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/protocol"
)

// afterFunc finishes item i once its signature is time-stamped: for PDFs
// the update, its DSS and its document time-stamp. lt is the validation
// data the item gets (nil: none, the item stays at B-T).
type afterFunc func(ctx context.Context, i int, sd *cms.SignedData, lt *ltData) error

// follower does the work that follows each signature — its time-stamp,
// the time-stamping authority's validation data, and what after adds —
// while the token signs the next items: a batch then takes the token's
// time, not the token's time plus the TSA's (docs/performance.md, t).
// Items follow stampParallel at a time; a failure stops the rest and the
// signing (failed).
type follower struct {
	a      *Agent
	ds     *docSigning
	signed []*cms.SignedData
	after  afterFunc
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{}
	wg     sync.WaitGroup

	mu   sync.Mutex // guards err and done
	err  error
	done int

	// ltMu guards ds.lt, ds.level and ds.downgrade, which a failing TSA
	// chain changes, and tsas, the TSA certificates whose validation data
	// ds.lt has.
	ltMu sync.Mutex
	tsas map[string]bool
}

func (a *Agent) newFollower(ctx context.Context, ds *docSigning, signed []*cms.SignedData, after afterFunc) *follower {
	ctx, cancel := context.WithCancel(ctx)
	return &follower{a: a, ds: ds, signed: signed, after: after, ctx: ctx, cancel: cancel,
		sem: make(chan struct{}, stampParallel), tsas: map[string]bool{}}
}

// add starts following item i, whose signature is in signed[i]. It never
// blocks the token: items wait for a place in their own goroutine.
func (f *follower) add(i int) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		select {
		case f.sem <- struct{}{}:
		case <-f.ctx.Done():
			return
		}
		defer func() { <-f.sem }()
		if f.ctx.Err() != nil {
			return
		}
		if err := f.item(i); err != nil {
			f.mu.Lock()
			if f.err == nil {
				f.err = err
				f.cancel()
			}
			f.mu.Unlock()
			return
		}
		f.mu.Lock()
		f.done++
		f.mu.Unlock()
		f.ds.prog.afterItem()
	}()
}

func (f *follower) item(i int) error {
	sd := f.signed[i]
	d := f.ds.hash.New()
	d.Write(sd.Signature())
	tok, err := f.a.tsa.Stamp(f.ctx, f.ds.hash, d.Sum(nil))
	if err != nil {
		if f.ctx.Err() != nil {
			return f.ctx.Err()
		}
		return f.a.tsaFailed(err)
	}
	if err := sd.AddTimestamp(tok); err != nil {
		return err
	}
	lt, err := f.validationData(tok)
	if err != nil {
		return err
	}
	if f.after != nil {
		return f.after(f.ctx, i, sd, lt)
	}
	return nil
}

// validationData returns the signer's and the time-stamping authority's
// validation data for an item whose time-stamp is tok, fetching the TSA
// chain's once per TSA certificate; nil below B-LT, or when [revocation]
// mode prefer let the request go on at B-T without it.
func (f *follower) validationData(tok []byte) (*ltData, error) {
	f.ltMu.Lock()
	defer f.ltMu.Unlock()
	if f.ds.lt == nil {
		return nil, nil
	}
	key := ""
	if leaf, _, err := tsaCertificates(tok); err == nil {
		key = string(leaf.Raw)
	}
	if !f.tsas[key] {
		if err := f.a.tsaData(f.ctx, f.a.trust, f.ds.lt, tok); err != nil {
			if f.ctx.Err() != nil {
				return nil, f.ctx.Err()
			}
			return nil, f.a.noLT(f.ds, err)
		}
		f.tsas[key] = true
	}
	// ds.lt only grows by appends under ltMu: a copy of its slices is a
	// consistent snapshot.
	snap := *f.ds.lt
	return &snap, nil
}

// failed returns the first failure of an item, as the request's answer.
func (f *follower) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pe, ok := protocol.AsError(f.err); ok {
		return pe.WithCompleted(f.done)
	}
	return f.err
}

// wait waits for every item added and returns failed().
func (f *follower) wait(parent context.Context) error {
	f.wg.Wait()
	if parent.Err() != nil {
		return f.a.contextError(parent, parent.Err(), f.done)
	}
	return f.failed()
}

// stop ends the work of items still following and waits for it.
func (f *follower) stop() {
	f.cancel()
	f.wg.Wait()
}
