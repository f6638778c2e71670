//go:build windows

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows"

	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/installer"
)

var freeConsole = windows.NewLazySystemDLL("kernel32.dll").NewProc("FreeConsole")

// background detaches the agent started at logon from any console, sends
// its log to agent.log in the state directory and records its process id
// for `tte-agent service stop|status`.
func background() (io.Writer, func(), error) {
	_, _, _ = freeConsole.Call()
	dir, err := config.StateDir()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to open the agent's log: %w", err)
	}
	pid := installer.PIDFile()
	if err := os.WriteFile(pid, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, func() { os.Remove(pid); f.Close() }, nil
}

// serviceRun hands control to the Windows service manager when it started
// the agent, and calls stop when it says so; interactively it returns at
// once.
func serviceRun(stop func()) error {
	if service.Interactive() {
		return nil
	}
	c, err := installer.Config(installer.Options{System: true})
	if err != nil {
		return err
	}
	s, err := service.New(program{stop: stop}, c)
	if err != nil {
		return err
	}
	return s.Run()
}

type program struct{ stop func() }

func (program) Start(service.Service) error  { return nil }
func (p program) Stop(service.Service) error { p.stop(); return nil }
