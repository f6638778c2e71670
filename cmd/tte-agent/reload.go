package main

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"
)

// reloadPoll is how often watchConfig looks at the files; Windows has no
// SIGHUP, so a change of the files is the signal there.
const reloadPoll = 2 * time.Second

// watchConfig calls reload on SIGHUP and whenever one of paths changes
// (modification time, size, or coming and going), until ctx ends.
func watchConfig(ctx context.Context, paths []string, reload func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(reloadPoll)
	defer tick.Stop()
	last := stamps(paths)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick.C:
			now := stamps(paths)
			if slices.Equal(now, last) {
				continue
			}
		}
		last = stamps(paths)
		reload()
	}
}

type stamp struct {
	mod  time.Time
	size int64
	ok   bool
}

func stamps(paths []string) []stamp {
	out := make([]stamp, len(paths))
	for i, p := range paths {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil {
			out[i] = stamp{mod: fi.ModTime(), size: fi.Size(), ok: true}
		}
	}
	return out
}
