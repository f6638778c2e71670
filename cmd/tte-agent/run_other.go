//go:build !windows

package main

import (
	"errors"
	"io"
)

// background is Windows' logon start; elsewhere systemd keeps the log.
func background() (io.Writer, func(), error) {
	return nil, nil, errors.New("--background is for Windows' logon start; on Linux, systemd runs the agent in the foreground")
}

// serviceRun waits for nothing outside Windows: signals stop the agent.
func serviceRun(stop func()) error { return nil }
