package config

import (
	"fmt"
	"time"

	"github.com/tte-agent/tte-agent/trust"
)

// Defaults of [revocation].
const (
	DefaultRevocationTimeout = 10 * time.Second
	DefaultMaxCRLBytes       = 16 << 20
)

// completeArchive loads [trust] and checks [revocation].
func (c *Config) completeArchive() error {
	var err error
	c.Trust.ParsedAnchors, c.Trust.ParsedIntermediates = nil, nil
	if len(c.Trust.Anchors) > 0 {
		if c.Trust.ParsedAnchors, err = trust.Load(c.Trust.Anchors); err != nil {
			return fmt.Errorf("trust.anchors: %w", err)
		}
	}
	if len(c.Trust.Intermediates) > 0 {
		if c.Trust.ParsedIntermediates, err = trust.Load(c.Trust.Intermediates); err != nil {
			return fmt.Errorf("trust.intermediates: %w", err)
		}
	}
	switch c.Revocation.Mode {
	case "":
		c.Revocation.Mode = RevocationPrefer
	case RevocationRequire, RevocationPrefer, RevocationOff:
	default:
		return fmt.Errorf("revocation.mode %q: use %q, %q or %q", c.Revocation.Mode, RevocationRequire, RevocationPrefer, RevocationOff)
	}
	if c.Revocation.Timeout == 0 {
		c.Revocation.Timeout = Duration(DefaultRevocationTimeout)
	}
	if t := time.Duration(c.Revocation.Timeout); t < 100*time.Millisecond || t > 2*time.Minute {
		return fmt.Errorf("revocation.timeout %v: must be between 100ms and 2m", t)
	}
	if c.Revocation.MaxCRLBytes == 0 {
		c.Revocation.MaxCRLBytes = DefaultMaxCRLBytes
	}
	if n := c.Revocation.MaxCRLBytes; n < 1<<10 || n > 256<<20 {
		return fmt.Errorf("revocation.max_crl_bytes %d: must be between 1 KiB and 256 MiB", n)
	}
	return nil
}
