//go:build linux

package installer

import (
	"github.com/kardianos/service"
)

// systemd is the only init tte-agent supports on Linux. kardianos/service
// guesses the init from /run/systemd/system; a container, or a machine
// being set up before its first boot, would make it pick SysV, so the
// choice is made here.
func init() {
	for _, s := range service.AvailableSystems() {
		if s.String() == "linux-systemd" {
			service.ChooseSystem(always{s})
		}
	}
}

type always struct{ service.System }

func (always) Detect() bool { return true }

func platformConfig(c *service.Config, o Options) {
	c.Option["UserService"] = !o.System
	c.Option["SystemdScript"] = kardianosUnit(o.System)
}

// New returns the manager for o: the systemd user unit
// (~/.config/systemd/user/tte-agent.service, `systemctl --user`), or with
// o.System the system unit (/etc/systemd/system).
func New(o Options) (Manager, error) {
	where := "systemd user unit ~/.config/systemd/user/tte-agent.service"
	if o.System {
		where = "systemd system unit /etc/systemd/system/tte-agent.service"
	}
	return newSystemd(o, where)
}
