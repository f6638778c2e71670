package installer

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// verify runs systemd-analyze verify on a unit file and fails on any
// complaint about it.
func verify(t *testing.T, unit string, user bool) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze is not installed: run scripts/install-deps.sh test")
	}
	args := []string{"verify", unit}
	if user {
		args = []string{"--user", "verify", unit}
	}
	cmd := exec.Command("systemd-analyze", args...)
	runtime := t.TempDir()
	os.Chmod(runtime, 0o700)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtime)
	out, err := cmd.CombinedOutput()
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, filepath.Base(unit)) {
			ours = append(ours, line)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Errorf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestUnits(t *testing.T) {
	exe, _ := os.Executable()
	for _, system := range []bool{false, true} {
		unit := Unit(exe, Options{Config: "/etc/tte agent/config.toml"}.Args(), system)
		for _, want := range []string{"NoNewPrivileges=yes", "UMask=0077", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
			"CapabilityBoundingSet=\n", "ExecReload=/bin/kill -HUP $MAINPID", `"run" "--config" "/etc/tte agent/config.toml"`} {
			if !strings.Contains(unit, want) {
				t.Errorf("system=%v: unit lacks %q:\n%s", system, want, unit)
			}
		}
		wanted := "WantedBy=default.target"
		if system {
			wanted = "WantedBy=multi-user.target"
			if !strings.Contains(unit, "ProtectSystem=strict") || !strings.Contains(unit, "StateDirectory=tte-agent") {
				t.Errorf("system unit lacks its sandbox:\n%s", unit)
			}
		}
		if !strings.Contains(unit, wanted) {
			t.Errorf("system=%v: unit lacks %s", system, wanted)
		}
		path := filepath.Join(t.TempDir(), "tte-agent.service")
		os.WriteFile(path, []byte(unit), 0o644)
		verify(t, path, !system)
	}
}

// fakeSystemctl puts a systemctl on PATH that records its arguments and
// answers is-active and list-unit-files from a state file: systemd is not
// PID 1 here, so the real one cannot manage units.
func fakeSystemctl(t *testing.T) (log string) {
	t.Helper()
	bin := t.TempDir()
	log = filepath.Join(bin, "calls")
	script := `#!/bin/sh
echo "$*" >> ` + log + `
state=` + bin + `/active
case "$1" in
start) touch "$state" ;;
stop) rm -f "$state" ;;
--user)
	# Ours: systemctl --user VERB UNIT. enable and disable make and
	# remove the wants link, as systemctl does.
	wants="$HOME/.config/systemd/user/default.target.wants"
	case "$2" in
	enable) mkdir -p "$wants" && ln -sf "$HOME/.config/systemd/user/$3" "$wants/$3" ;;
	disable) rm -f "$wants/$3" ;;
	esac ;;
is-active) if [ -e "$state" ]; then echo active; exit 0; else echo inactive; exit 3; fi ;;
list-unit-files) [ -e "$HOME/.config/systemd/user/$4" ] && echo "$4 enabled"; exit 0 ;;
esac
exit 0
`
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return log
}

func TestUserServiceLifecycle(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	calls := fakeSystemctl(t)
	exe, _ := os.Executable()
	cfg := filepath.Join(home, "my config.toml")
	m, err := New(Options{Config: cfg, Exec: exe})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := m.Status(); err != nil || st != NotInstalled {
		t.Fatalf("before install: %v %v", st, err)
	}
	if err := m.Install(); err != nil {
		t.Fatal(err)
	}
	unitPath := filepath.Join(home, ".config/systemd/user/tte-agent.service")
	got, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := Unit(exe, []string{"run", "--config", cfg}, false); string(got) != want {
		t.Errorf("installed unit differs from `service unit`:\n%s\nwant:\n%s", got, want)
	}
	verify(t, unitPath, true)
	if err := m.Install(); err == nil || !strings.Contains(err.Error(), "already installed") {
		t.Errorf("second install: %v", err)
	}
	if st, _ := m.Status(); st != Stopped {
		t.Errorf("after install: %v", st)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Status(); st != Running {
		t.Errorf("after start: %v", st)
	}
	if err := m.Uninstall(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(unitPath); !os.IsNotExist(err) {
		t.Errorf("the unit is still there after uninstall: %v", err)
	}
	if st, _ := m.Status(); st != NotInstalled {
		t.Errorf("after uninstall: %v", st)
	}
	if err := m.Uninstall(); err != ErrNotInstalled {
		t.Errorf("second uninstall: %v", err)
	}
	data, _ := os.ReadFile(calls)
	for _, want := range []string{"--user show --property=Version", "--user daemon-reload", "--user enable tte-agent.service", "start --user tte-agent.service",
		"--user stop tte-agent.service", "--user disable tte-agent.service", "--user daemon-reload"} {
		if !strings.Contains(string(data), want+"\n") {
			t.Errorf("systemctl was not called with %q:\n%s", want, data)
		}
	}
}

// brokenSystemctl puts a systemctl on PATH that fails as systemctl does
// without a reachable systemd, or only for the verbs in failing.
func brokenSystemctl(t *testing.T, failing ...string) {
	t.Helper()
	bin := t.TempDir()
	cond := "true"
	if len(failing) > 0 {
		cond = "false"
		for _, v := range failing {
			cond += ` || [ "$v" = ` + v + ` ]`
		}
	}
	script := `#!/bin/sh
for v in "$@"; do case "$v" in --*) ;; *) break ;; esac; done
if ` + cond + `; then echo "Failed to connect to bus: No medium found" >&2; exit 1; fi
case "$v" in
is-active) echo inactive; exit 3 ;;
list-unit-files) echo "tte-agent.service enabled"; exit 0 ;;
esac
exit 0
`
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
}

// Where systemd does not answer (a container, WSL, no user session), or
// fails half way, install says why in words and leaves nothing behind;
// status tells every half-installed state; uninstall removes what is left.
func TestServiceWithoutSystemd(t *testing.T) {
	exe, _ := os.Executable()
	newUser := func(t *testing.T) (Manager, string, string) {
		home := t.TempDir()
		t.Setenv("HOME", home)
		m, err := New(Options{Exec: exe})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(home, ".config/systemd/user")
		return m, filepath.Join(dir, "tte-agent.service"), filepath.Join(dir, "default.target.wants/tte-agent.service")
	}
	t.Run("no systemd", func(t *testing.T) {
		brokenSystemctl(t)
		m, unit, link := newUser(t)
		err := m.Install()
		if !errors.Is(err, ErrNoSystemd) || !strings.Contains(err.Error(), "No medium found") || !strings.Contains(err.Error(), "tte-agent run") {
			t.Errorf("install: %v", err)
		}
		if exists(unit) || exists(link) {
			t.Error("install left files behind")
		}
		if st, err := m.Status(); st != NotInstalled || err != nil {
			t.Errorf("status: %v %v", st, err)
		}
	})
	t.Run("enable fails", func(t *testing.T) {
		brokenSystemctl(t, "enable")
		m, unit, _ := newUser(t)
		err := m.Install()
		if err == nil || !strings.Contains(err.Error(), "No medium found") || !strings.Contains(err.Error(), "nothing was left installed") {
			t.Errorf("install: %v", err)
		}
		if exists(unit) {
			t.Error("the unit file is still there after a failed install")
		}
		if st, _ := m.Status(); st != NotInstalled {
			t.Errorf("status after a failed install: %v", st)
		}
	})
	t.Run("half installed", func(t *testing.T) {
		brokenSystemctl(t)
		m, unit, link := newUser(t)
		os.MkdirAll(filepath.Dir(unit), 0o755)
		os.WriteFile(unit, []byte("[Unit]\n"), 0o644)
		if st, err := m.Status(); st != Partial || err == nil || !strings.Contains(err.Error(), "service uninstall") {
			t.Errorf("unit without link: %v %v", st, err)
		}
		os.MkdirAll(filepath.Dir(link), 0o755)
		os.Symlink(unit, link)
		if st, err := m.Status(); st != Unknown || !errors.Is(err, ErrNoSystemd) {
			t.Errorf("unit and link, systemd away: %v %v", st, err)
		}
		err := m.Uninstall()
		var partial *PartialError
		if !errors.As(err, &partial) || !strings.Contains(err.Error(), "files are removed") {
			t.Errorf("uninstall without systemd: %v", err)
		}
		if exists(unit) || exists(link) {
			t.Error("uninstall left files behind")
		}
		if st, err := m.Status(); st != NotInstalled || err != nil {
			t.Errorf("after uninstall: %v %v", st, err)
		}
		if err := m.Uninstall(); err != ErrNotInstalled {
			t.Errorf("second uninstall: %v", err)
		}
	})
}
