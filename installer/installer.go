// Package installer installs tte-agent to start by itself, on
// github.com/kardianos/service:
//
//   - Linux: a systemd user unit (the PIN dialog belongs to the user's
//     session) wanted by default.target, hardened; with System, a system
//     unit for kiosks with PIN-pad tokens.
//   - Windows: a per-user start at logon (the Run key), so dialogs reach
//     the user's desktop; with System, a Windows service (session 0, no
//     dialogs: PIN-pad tokens only).
//
// It imports nothing of ours.
package installer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kardianos/service"
)

// Name is the service's name on every platform.
const Name = "tte-agent"

// Options say how the agent is installed.
type Options struct {
	// System installs a system-wide service instead of the per-user start.
	System bool
	// Config is passed to `tte-agent run --config`; "" leaves the agent
	// to its default (the user's config.toml, then the policy).
	Config string
	// Exec is the agent's executable; "" means this program.
	Exec string
}

// Args returns the arguments the installed agent runs with.
func (o Options) Args() []string {
	args := []string{"run"}
	if o.Config != "" {
		args = append(args, "--config", o.Config)
	}
	return args
}

func (o Options) exec() (string, error) {
	if o.Exec != "" {
		return filepath.Abs(o.Exec)
	}
	return os.Executable()
}

// ErrNotInstalled means there is nothing to uninstall, start or stop.
var ErrNotInstalled = errors.New("tte-agent is not installed as a service; run `tte-agent service install` first")

// Config returns the kardianos/service configuration for o.
func Config(o Options) (*service.Config, error) {
	exe, err := o.exec()
	if err != nil {
		return nil, fmt.Errorf("failed to find the agent's executable: %w", err)
	}
	if o.Config != "" {
		if o.Config, err = filepath.Abs(o.Config); err != nil {
			return nil, err
		}
	}
	c := &service.Config{
		Name:        Name,
		DisplayName: "tte-agent",
		Description: "Signs with your PKCS#11 token for e-office web apps",
		Executable:  exe,
		Arguments:   o.Args(),
		Option:      service.KeyValue{},
	}
	platformConfig(c, o)
	return c, nil
}

// Status is what Manager.Status reports.
type Status string

// Statuses.
const (
	Running      Status = "running"
	Stopped      Status = "installed, not running"
	NotInstalled Status = "not installed"
	// Unknown: installed, but the service manager cannot say whether it
	// runs (Status's error says why).
	Unknown Status = "installed, state unknown"
	// Partial: an earlier install or uninstall stopped half way; uninstall
	// removes what is left.
	Partial Status = "half installed"
)

// PartialError is an uninstall that removed the files but could not tell
// systemd: a running agent keeps running until the session ends.
type PartialError struct{ Err error }

func (e *PartialError) Error() string {
	return "tte-agent's files are removed, but systemd could not be told (" + e.Err.Error() + "); an agent still running stops when your session ends, or with `pkill -x tte-agent`"
}

func (e *PartialError) Unwrap() error { return e.Err }
