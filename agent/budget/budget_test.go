package budget

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
)

// spin burns CPU until ctx ends.
func spin(ctx context.Context) error {
	x := 0
	for ctx.Err() == nil {
		for i := range 100000 {
			x += i
		}
	}
	_ = x
	return ctx.Err()
}

func TestBudget(t *testing.T) {
	tests := []struct {
		name string
		l    Limits
		work func(ctx context.Context) error
		want error
	}{
		{"cpu", Limits{CPU: 50 * time.Millisecond, Memory: 1 << 30}, spin, ErrCPU},
		{"memory", Limits{CPU: time.Minute, Memory: 8 << 20}, func(ctx context.Context) error {
			var keep [][]byte
			for ctx.Err() == nil {
				keep = append(keep, make([]byte, 1<<20))
				time.Sleep(time.Millisecond)
			}
			runtime.KeepAlive(keep)
			return ctx.Err()
		}, ErrMemory},
		{"ok", Limits{CPU: time.Minute}, func(context.Context) error { return nil }, nil},
		{"work error", Limits{CPU: time.Minute}, func(context.Context) error { return errWork }, errWork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New(tt.l)
			err := g.Run(context.Background(), 0, tt.work)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("Run = %v, want %v", err, tt.want)
			}
		})
	}
}

var errWork = errors.New("work failed")

// A job that ignores its context is abandoned at once, but keeps its slot
// until it returns.
func TestAbandonedJobHoldsItsSlot(t *testing.T) {
	g := New(Limits{Parallel: 1, CPU: 20 * time.Millisecond})
	release := make(chan struct{})
	start := time.Now()
	err := g.Run(context.Background(), 0, func(context.Context) error {
		// Burns CPU without looking at its context.
		deadline := time.Now().Add(testscale.D(50 * time.Millisecond))
		for time.Now().Before(deadline) {
		}
		<-release
		return nil
	})
	if !errors.Is(err, ErrCPU) {
		t.Fatalf("Run = %v, want ErrCPU", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Run took %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	ran := false
	if err := g.Run(ctx, 0, func(context.Context) error { ran = true; return nil }); !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Fatalf("second job ran (%v, %v) while the abandoned one held the only slot", ran, err)
	}
	close(release)
	if err := g.Run(context.Background(), 0, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// Cancelling the caller's context answers at once, with its cause.
func TestCancel(t *testing.T) {
	g := New(Limits{CPU: time.Minute})
	ctx, cancel := context.WithCancelCause(context.Background())
	errStop := errors.New("stop")
	go func() { time.Sleep(20 * time.Millisecond); cancel(errStop) }()
	if err := g.Run(ctx, 0, spin); !errors.Is(err, errStop) {
		t.Fatalf("Run = %v, want the caller's cause", err)
	}
}
