//go:build !linux && !windows

package installer

import (
	"errors"

	"github.com/kardianos/service"
)

func platformConfig(*service.Config, Options) {}

// New reports that this platform is not supported.
func New(Options) (Manager, error) {
	return nil, errors.New("tte-agent installs itself as a service on Linux and Windows only")
}
