package config

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/tte-agent/tte-agent/trust"
)

// Trust configures trust anchors and chain building.
type Trust struct {
	// Anchors are PEM (or DER) files or directories of trust anchors,
	// e.g. BSrE's root.
	Anchors []string `toml:"anchors"`
	// Intermediates are files or directories of CA certificates that
	// chains may pass through (besides [certificates] chain and what
	// tokens and signatures carry).
	Intermediates []string `toml:"intermediates"`
	// AIA (default true) fetches a missing issuer from the URL in a
	// certificate's authority information access.
	AIA *bool `toml:"aia"`
	// ParsedAnchors and ParsedIntermediates hold the certificates after
	// Load.
	ParsedAnchors       []*x509.Certificate `toml:"-"`
	ParsedIntermediates []*x509.Certificate `toml:"-"`
}

// FetchAIA reports trust.aia, true unless set false.
func (t Trust) FetchAIA() bool { return t.AIA == nil || *t.AIA }

// Revocation modes.
const (
	RevocationRequire = "require"
	RevocationPrefer  = "prefer"
	RevocationOff     = "off"
)

// Revocation configures the status check before signing.
type Revocation struct {
	// Mode: "require" refuses to sign when no status can be had, "prefer"
	// (default) signs without long-term data and says so, "off" never
	// checks. A revoked certificate is refused unless off.
	Mode string `toml:"mode"`
	// Timeout bounds one OCSP or CRL fetch; default 10s.
	Timeout Duration `toml:"timeout"`
	// MaxCRLBytes bounds a CRL download; default 16 MiB.
	MaxCRLBytes int64 `toml:"max_crl_bytes"`
}

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
