// Package budget bounds work done on hostile input: how many jobs run at
// once, how much CPU time each may use, and how much the Go heap may grow
// while they run. A job over its budget is cancelled through its context
// and its caller is answered at once; the job's slot stays taken until the
// job has really returned, so abandoned work still counts against the
// limit and can never pile up.
package budget

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Errors a job ends with when it is over its budget.
var (
	// ErrCPU means the job used more CPU time than its budget.
	ErrCPU = errors.New("over the CPU-time budget")
	// ErrMemory means the heap grew by more than the running jobs'
	// budgets together.
	ErrMemory = errors.New("over the memory budget")
)

// Limits configure a Gate.
type Limits struct {
	// Parallel is how many jobs run at once; more wait for a slot.
	Parallel int
	// CPU is the CPU time one job may use: its own thread's on Linux
	// (so a loaded machine does not shorten it), wall time elsewhere.
	CPU time.Duration
	// Memory is how much one job may grow the heap, beyond what Run's
	// extra argument adds for it.
	Memory int64
	// Wall bounds a job's wall time too, for a job starved of CPU on a
	// loaded machine; zero means 30 times CPU.
	Wall time.Duration
}

// tick is how often running jobs are measured: a job over its budget is
// stopped within about this long.
const tick = 5 * time.Millisecond

// Gate runs jobs within Limits.
type Gate struct {
	l     Limits
	slots chan struct{}

	mu   sync.Mutex
	jobs map[*job]struct{}
	// watching is true while the watchdog goroutine runs.
	watching bool
}

type job struct {
	cancel  context.CancelCauseFunc
	cpu     func() time.Duration // CPU time used so far
	memory  int64                // the job's own budget
	heap0   uint64               // heap in use when it started
	started time.Time
}

// New returns a gate with limits l; zero fields take one job, 1 s and
// 16 MiB.
func New(l Limits) *Gate {
	if l.Parallel <= 0 {
		l.Parallel = 1
	}
	if l.CPU <= 0 {
		l.CPU = time.Second
	}
	if l.Memory <= 0 {
		l.Memory = 16 << 20
	}
	if l.Wall <= 0 {
		l.Wall = 30 * l.CPU
	}
	return &Gate{l: l, slots: make(chan struct{}, l.Parallel), jobs: map[*job]struct{}{}}
}

// Run runs work with a context that ends when ctx ends or the job goes
// over its budget (CPU time, or its share of heap growth: Limits.Memory
// plus extra). It returns work's error, or at once, without waiting for
// work, the context's cause: ErrCPU, ErrMemory or ctx's error.
func (g *Gate) Run(ctx context.Context, extra int64, work func(ctx context.Context) error) error {
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	wctx, cancel := context.WithCancelCause(ctx)
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		defer func() { <-g.slots }() // only once work has really returned
		// The job keeps its OS thread, so that thread's CPU clock is the
		// job's.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		j := &job{cancel: cancel, cpu: threadCPU(), memory: g.l.Memory + max(0, extra), heap0: heapInUse(), started: time.Now()}
		g.add(j)
		defer g.remove(j)
		close(ready)
		done <- work(wctx)
		// A job stopped for growing the heap leaves that garbage behind;
		// giving it back to the system at once keeps the process's
		// resident size within its bound when hostile files come one
		// after another (the GC alone returns it minutes later).
		if errors.Is(context.Cause(wctx), ErrMemory) {
			debug.FreeOSMemory()
		}
		cancel(errFinished) // after the send: Run prefers the result
	}()
	<-ready
	select {
	case err := <-done:
		return result(err, wctx)
	case <-wctx.Done():
		select {
		case err := <-done: // it finished as it was stopped
			return result(err, wctx)
		default:
		}
		return context.Cause(wctx)
	}
}

// errFinished is the cause a job's context gets when the job returns.
var errFinished = errors.New("job finished")

// result is a finished job's answer: the cause that stopped it (budget or
// caller) when it failed after being stopped, else its own.
func result(err error, wctx context.Context) error {
	if cause := context.Cause(wctx); err != nil && cause != nil && !errors.Is(cause, errFinished) {
		return cause
	}
	return err
}

func (g *Gate) add(j *job) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.jobs[j] = struct{}{}
	if !g.watching {
		g.watching = true
		go g.watch()
	}
}

func (g *Gate) remove(j *job) {
	g.mu.Lock()
	delete(g.jobs, j)
	g.mu.Unlock()
}

// watch measures the running jobs every tick until none is left.
func (g *Gate) watch() {
	t := time.NewTicker(tick)
	defer t.Stop()
	for range t.C {
		g.mu.Lock()
		if len(g.jobs) == 0 {
			g.watching = false
			g.mu.Unlock()
			return
		}
		var allowed int64
		heap0 := ^uint64(0)
		for j := range g.jobs {
			allowed += j.memory
			heap0 = min(heap0, j.heap0)
			if used := j.cpu(); used > g.l.CPU {
				j.cancel(fmt.Errorf("%w (%v of %v)", ErrCPU, used.Round(time.Millisecond), g.l.CPU))
			}
			if wall := time.Since(j.started); wall > g.l.Wall {
				j.cancel(fmt.Errorf("%w (still running after %v)", ErrCPU, wall.Round(time.Millisecond)))
			}
		}
		if now := heapInUse(); now > heap0 && int64(now-heap0) > allowed {
			// The heap is shared: every running job is stopped, since the
			// growth cannot be told apart between them.
			for j := range g.jobs {
				j.cancel(fmt.Errorf("%w (the heap grew by %d MiB, %d MiB allowed)", ErrMemory, (now-heap0)>>20, allowed>>20))
			}
		}
		g.mu.Unlock()
	}
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
var heapMu sync.Mutex

// heapInUse returns the bytes of heap objects, live or not yet swept.
func heapInUse() uint64 {
	heapMu.Lock()
	defer heapMu.Unlock()
	metrics.Read(heapSample)
	return heapSample[0].Value.Uint64()
}
