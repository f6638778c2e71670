package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/tte-agent/tte-agent/installer"
)

const serviceUsage = `usage: tte-agent service <command> [--system] [--config FILE]

commands:
  install     start tte-agent by itself: at the user's logon (a systemd user
              unit; on Windows the Run key), or with --system as a system
              service for kiosks with PIN-pad tokens (no dialogs there)
  uninstall   stop it and remove what install added
  start       start it now
  stop        stop it
  status      say whether it is installed and running
  unit        print the systemd unit install writes (Linux packaging)
`

func cmdService(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, serviceUsage)
		return flag.ErrHelp
	}
	what := args[0]
	fs := flag.NewFlagSet("service "+what, flag.ContinueOnError)
	fs.SetOutput(stderr)
	system := fs.Bool("system", false, "a system-wide service instead of the per-user start")
	config := fs.String("config", "", "configuration file the agent runs with (default: the user's config.toml)")
	exe := fs.String("exec", "", "the agent's executable (default: this program; `unit` only)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	o := installer.Options{System: *system, Config: *config}
	if what == "unit" {
		o.Exec = *exe
		if o.Exec == "" {
			o.Exec = "/usr/bin/tte-agent"
		}
		fmt.Fprint(stdout, installer.Unit(o.Exec, o.Args(), o.System))
		return nil
	}
	m, err := installer.New(o)
	if err != nil {
		return err
	}
	switch what {
	case "install":
		if err := m.Install(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "tte-agent installed: %s\nIt starts at %s; `tte-agent service start` starts it now.\n", m.Where(), when(*system))
	case "uninstall":
		if err := m.Uninstall(); err != nil {
			var partial *installer.PartialError
			if errors.As(err, &partial) {
				fmt.Fprintf(stdout, "tte-agent uninstalled (%s), but: %v\n", m.Where(), err)
				return errSilent
			}
			return err
		}
		fmt.Fprintf(stdout, "tte-agent uninstalled (%s).\n", m.Where())
	case "start":
		if err := m.Start(); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "tte-agent started.")
	case "stop":
		if err := m.Stop(); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "tte-agent stopped.")
	case "status":
		st, err := m.Status()
		if st == "" {
			return err
		}
		fmt.Fprintf(stdout, "tte-agent: %s (%s)\n", st, m.Where())
		if err != nil {
			fmt.Fprintf(stdout, "  %v\n", err)
		}
		if err != nil || st == installer.NotInstalled {
			return errSilent
		}
	default:
		fmt.Fprintf(stderr, "tte-agent: unknown service command %q\n\n%s", what, serviceUsage)
		return flag.ErrHelp
	}
	return nil
}

// errSilent exits 1 without another message: the output said it all.
var errSilent = errors.New("")

func when(system bool) string {
	if system {
		return "boot"
	}
	return "your logon"
}
