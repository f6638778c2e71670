package installer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kardianos/service"
)

// Manager installs, removes, starts, stops and reports the agent.
type Manager interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Status() (Status, error)
	// Where says where it is installed, for messages.
	Where() string
}

// noop is the service Interface for management commands: they never run
// the agent.
type noop struct{}

func (noop) Start(service.Service) error { return nil }
func (noop) Stop(service.Service) error  { return nil }

// kardianosManager manages the agent through kardianos/service.
type kardianosManager struct {
	s     service.Service
	where string
}

func newKardianos(o Options, where string) (Manager, error) {
	c, err := Config(o)
	if err != nil {
		return nil, err
	}
	s, err := service.New(noop{}, c)
	if err != nil {
		return nil, fmt.Errorf("failed to reach the service manager: %w", err)
	}
	return &kardianosManager{s: s, where: where}, nil
}

func (m *kardianosManager) Install() error {
	if err := m.s.Install(); err != nil {
		if strings.Contains(err.Error(), "already exists") {
			return fmt.Errorf("tte-agent is already installed (%s); uninstall it first to change how it runs: %w", m.where, err)
		}
		return fmt.Errorf("failed to install tte-agent (%s): %w", m.where, err)
	}
	return nil
}

func (m *kardianosManager) Uninstall() error {
	if st, _ := m.Status(); st == NotInstalled {
		return ErrNotInstalled
	}
	// A running agent is stopped first; an error here (already stopped)
	// does not matter.
	_ = m.s.Stop()
	if err := m.s.Uninstall(); err != nil {
		return fmt.Errorf("failed to uninstall tte-agent (%s): %w", m.where, err)
	}
	return nil
}

func (m *kardianosManager) Start() error { return m.wrap("start", m.s.Start()) }
func (m *kardianosManager) Stop() error  { return m.wrap("stop", m.s.Stop()) }

func (m *kardianosManager) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if st, _ := m.Status(); st == NotInstalled {
		return ErrNotInstalled
	}
	return fmt.Errorf("failed to %s tte-agent (%s): %w", what, m.where, err)
}

func (m *kardianosManager) Status() (Status, error) {
	st, err := m.s.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return NotInstalled, nil
	case err != nil:
		return "", fmt.Errorf("failed to read tte-agent's status (%s): %w", m.where, err)
	case st == service.StatusRunning:
		return Running, nil
	default:
		return Stopped, nil
	}
}

func (m *kardianosManager) Where() string { return m.where }
