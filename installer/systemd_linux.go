//go:build linux

package installer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// systemdManager is kardianos/service's systemd support made safe to use
// where systemd is half there (a container, WSL, a machine without a
// user session): it checks that systemd answers before it installs, rolls
// back a failed install, tells half-installed states apart by the files
// on disk, and uninstalls whatever is left even when systemctl fails.
type systemdManager struct {
	*kardianosManager
	system     bool
	unit, link string // the unit file and its enable link
	exec       string
	args       []string
}

func newSystemd(o Options, where string) (Manager, error) {
	k, err := newKardianos(o, where)
	if err != nil {
		return nil, err
	}
	c, err := Config(o)
	if err != nil {
		return nil, err
	}
	m := &systemdManager{kardianosManager: k.(*kardianosManager), system: o.System, exec: c.Executable, args: c.Arguments}
	if o.System {
		m.unit = "/etc/systemd/system/" + Name + ".service"
		m.link = "/etc/systemd/system/multi-user.target.wants/" + Name + ".service"
	} else {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("failed to find your home directory for the user unit: %w", err)
		}
		dir := filepath.Join(home, ".config", "systemd", "user")
		m.unit = filepath.Join(dir, Name+".service")
		m.link = filepath.Join(dir, "default.target.wants", Name+".service")
	}
	return m, nil
}

// systemctl runs systemctl (--user unless system) and returns its error
// with what it printed.
func (m *systemdManager) systemctl(args ...string) error {
	if !m.system {
		args = append([]string{"--user"}, args...)
	}
	var out bytes.Buffer
	cmd := exec.Command("systemctl", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("systemctl %s: %s", strings.Join(args, " "), msg)
	}
	return nil
}

// ErrNoSystemd means systemd cannot manage the agent here.
var ErrNoSystemd = errors.New("systemd does not answer here")

// reachable checks that the systemd instance the unit needs answers.
func (m *systemdManager) reachable() error {
	if err := m.systemctl("show", "--property=Version"); err != nil {
		who := "this machine's systemd (is systemd its init? containers and WSL often run without it)"
		if !m.system {
			who = "your systemd user manager (is systemd this machine's init, and are you logged in to a session that starts it?)"
		}
		return fmt.Errorf("%w: %s cannot be reached (%v); tte-agent cannot run as a service here: start it with `tte-agent run` from the session's autostart instead (docs/deployment.md)", ErrNoSystemd, who, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func (m *systemdManager) Install() error {
	if exists(m.unit) {
		return fmt.Errorf("tte-agent is already installed (%s); uninstall it first to change how it runs", m.where)
	}
	if err := m.reachable(); err != nil {
		return err
	}
	// The steps kardianos/service takes, run here so that a failure says
	// what systemctl said (kardianos keeps only "exit status 1").
	err := os.MkdirAll(filepath.Dir(m.unit), 0o755)
	if err == nil {
		err = os.WriteFile(m.unit, []byte(Unit(m.exec, m.args, m.system)), 0o644)
	}
	if err == nil {
		err = m.systemctl("daemon-reload")
	}
	if err == nil {
		err = m.systemctl("enable", Name+".service")
	}
	if err != nil {
		// Leave nothing half installed behind.
		_ = m.systemctl("disable", Name+".service")
		os.Remove(m.link)
		os.Remove(m.unit)
		_ = m.systemctl("daemon-reload")
		return fmt.Errorf("failed to install tte-agent (%s): %w; nothing was left installed", m.where, err)
	}
	return nil
}

func (m *systemdManager) Status() (Status, error) {
	unit, link := exists(m.unit), exists(m.link)
	switch {
	case !unit && !link:
		return NotInstalled, nil
	case !unit || !link:
		what := "the unit " + m.unit + " without its enable link"
		if !unit {
			what = "the enable link " + m.link + " without its unit"
		}
		return Partial, fmt.Errorf("%s is there: an install or uninstall stopped half way; run `tte-agent service uninstall` to remove it, then install again", what)
	}
	if err := m.reachable(); err != nil {
		return Unknown, err
	}
	st, err := m.kardianosManager.Status()
	if err != nil {
		return Unknown, err
	}
	if st == NotInstalled { // systemd does not know the unit file yet
		return Unknown, fmt.Errorf("systemd has not loaded %s: run `systemctl%s daemon-reload`", m.unit, map[bool]string{false: " --user", true: ""}[m.system])
	}
	return st, nil
}

func (m *systemdManager) Uninstall() error {
	if !exists(m.unit) && !exists(m.link) {
		return ErrNotInstalled
	}
	// Whatever systemd says, the files go: a half-installed agent must be
	// removable where systemd does not answer.
	var told error
	if err := m.reachable(); err != nil {
		told = err
	} else {
		_ = m.systemctl("stop", Name+".service")
		told = m.systemctl("disable", Name+".service")
	}
	for _, p := range []string{m.link, m.unit} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("failed to uninstall tte-agent: %w", err)
		}
	}
	if told == nil {
		told = m.systemctl("daemon-reload")
	}
	if told != nil {
		return &PartialError{Err: told}
	}
	return nil
}

func (m *systemdManager) Start() error {
	if err := m.reachable(); err != nil {
		return err
	}
	return m.kardianosManager.Start()
}

func (m *systemdManager) Stop() error {
	if err := m.reachable(); err != nil {
		return err
	}
	return m.kardianosManager.Stop()
}
