package agent

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/tte-agent/tte-agent/token"
)

// defaultSessions is how many sessions sign a request by default. Each
// PKCS#11 call holds an OS thread, so a software token or HSM gains from
// more sessions than cores (measured: 4 beat 2 on two cores); a smartcard
// serialises anyway, at no cost but an idle session.
const defaultSessions = 4

// sessions returns how many sessions may sign a request of n items.
func (a *Agent) sessions(n int) int {
	w := a.conf().PKCS11.Sessions
	if w <= 0 {
		w = defaultSessions
	}
	return max(1, min(w, n))
}

// eachItem signs items 0..n-1 with s and up to w-1 forks of it, each
// session taking the next unsigned item. Hashing and document work stay
// outside: sign should only talk to the token. It stops at the first
// error or when ctx ends (within one item per session) and returns how
// many items finished. A token that refuses extra sessions signs with s
// alone.
func (a *Agent) eachItem(ctx context.Context, s *token.Session, w, n int, prog *progress, sign func(s *token.Session, i int) error) (int, error) {
	sessions := []*token.Session{s}
	for len(sessions) < w {
		f, err := s.Fork()
		if err != nil {
			a.log.Debug("signing with fewer sessions", "sessions", len(sessions), "err", err)
			break
		}
		sessions = append(sessions, f)
	}
	defer func() {
		for _, f := range sessions[1:] {
			_ = f.Close()
		}
	}()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for _, sess := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := sign(sess, i); err != nil {
					cancel(err)
					return
				}
				done.Add(1)
				prog.item()
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && err != context.Canceled {
		return int(done.Load()), err
	}
	return int(done.Load()), ctx.Err()
}

// parallel runs work for 0..n-1 on GOMAXPROCS goroutines and returns the
// error of the lowest failing index, so that the answer does not depend on
// scheduling; work after a failure is skipped.
func parallel(ctx context.Context, n int, work func(i int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if errs[i] = work(i); errs[i] != nil {
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}
