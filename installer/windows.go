//go:build windows

package installer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

const runKeyPath = `Software\Microsoft\Windows\CurrentVersion\Run`

func platformConfig(c *service.Config, o Options) {
	c.Option["StartType"] = "automatic"
	c.Option["OnFailure"] = "restart"
}

// New returns the manager for o: a per-user start at logon (the user's
// Run key), or with o.System a Windows service.
func New(o Options) (Manager, error) {
	if o.System {
		return newKardianos(o, "Windows service tte-agent")
	}
	exe, err := o.exec()
	if err != nil {
		return nil, err
	}
	if o.Config != "" {
		if o.Config, err = filepath.Abs(o.Config); err != nil {
			return nil, err
		}
	}
	// The logon start runs the console-less build beside this one when
	// there is one (the MSI installs both), so no window flashes.
	if w := strings.TrimSuffix(exe, ".exe") + "w.exe"; fileExists(w) {
		exe = w
	}
	return &runKey{exe: exe, args: append(o.Args(), "--background")}, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// runKey starts the agent at the user's logon through
// HKCU\Software\Microsoft\Windows\CurrentVersion\Run.
type runKey struct {
	exe  string
	args []string
}

// CommandLine is the Run value for exe with args.
func CommandLine(exe string, args []string) string {
	parts := []string{syscall.EscapeArg(exe)}
	for _, a := range args {
		parts = append(parts, syscall.EscapeArg(a))
	}
	return strings.Join(parts, " ")
}

func (r *runKey) Where() string { return `HKCU\` + runKeyPath + `\` + Name }

func (r *runKey) Install() error {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKeyPath, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", r.Where(), err)
	}
	defer k.Close()
	if old, _, err := k.GetStringValue(Name); err == nil {
		return fmt.Errorf("tte-agent is already installed (%s = %s); uninstall it first to change how it runs", r.Where(), old)
	}
	if err := k.SetStringValue(Name, CommandLine(r.exe, r.args)); err != nil {
		return fmt.Errorf("failed to write %s: %w", r.Where(), err)
	}
	return nil
}

func (r *runKey) Uninstall() error {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKeyPath, registry.SET_VALUE)
	if err != nil {
		return ErrNotInstalled
	}
	defer k.Close()
	_ = r.Stop()
	if err := k.DeleteValue(Name); err != nil {
		if errors.Is(err, registry.ErrNotExist) {
			return ErrNotInstalled
		}
		return fmt.Errorf("failed to delete %s: %w", r.Where(), err)
	}
	return nil
}

func (r *runKey) installed() bool {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKeyPath, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	_, _, err = k.GetStringValue(Name)
	return err == nil
}

// Start runs the agent now, detached, as logon would.
func (r *runKey) Start() error {
	if !r.installed() {
		return ErrNotInstalled
	}
	if pid := runningPID(); pid != 0 {
		return nil
	}
	cmd := exec.Command(r.exe, r.args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("failed to start %s: %w", r.exe, err)
	}
	return cmd.Process.Release()
}

func (r *runKey) Stop() error {
	pid := runningPID()
	if pid == 0 {
		return nil
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

func (r *runKey) Status() (Status, error) {
	switch {
	case !r.installed():
		return NotInstalled, nil
	case runningPID() != 0:
		return Running, nil
	default:
		return Stopped, nil
	}
}

// PIDFile is where an agent started with --background records its
// process id, under %LocalAppData%\tte-agent.
func PIDFile() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "tte-agent", "agent.pid")
}

// runningPID returns the process id in PIDFile if that process still
// runs, else 0.
func runningPID() int {
	data, err := os.ReadFile(PIDFile())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return 0
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil || code != 259 { // STILL_ACTIVE
		return 0
	}
	return pid
}
