package agent

import (
	"fmt"
	"os"
	"reflect"
	"runtime/debug"

	"github.com/tte-agent/tte-agent/agent/config"
)

// conf returns the configuration in force. A request reads it once per
// decision; Reload swaps it whole, so a request never sees half of one.
func (a *Agent) conf() *config.Config { return a.cfg.Load() }

// Reload puts a new configuration in force without dropping connections:
// origins and their capabilities, and the limits, apply to every request
// from now on (a page whose origin was removed gets not_permitted; frame
// and connection limits apply to new connections). Settings that belong to
// resources opened at start — listen address, modules, pinentry program,
// TSA, spool, audit trail, metrics, dialog queue — keep their old values
// until a restart; the returned notes name each one that changed.
func (a *Agent) Reload(next *config.Config) []string {
	prev := a.conf()
	kept := *next
	var notes []string
	restart := func(name string, old, new any, set func()) {
		if !reflect.DeepEqual(old, new) {
			notes = append(notes, fmt.Sprintf("%s changed: takes effect after a restart", name))
			set()
		}
	}
	restart("listen", prev.Listen, next.Listen, func() { kept.Listen = prev.Listen })
	restart("pkcs11", prev.PKCS11, next.PKCS11, func() { kept.PKCS11 = prev.PKCS11 })
	restart("pinentry", prev.Pinentry, next.Pinentry, func() { kept.Pinentry = prev.Pinentry })
	restart("tsa", prev.TSA, next.TSA, func() { kept.TSA = prev.TSA })
	restart("uploads", prev.Uploads, next.Uploads, func() { kept.Uploads = prev.Uploads })
	restart("audit", prev.Audit, next.Audit, func() { kept.Audit = prev.Audit })
	restart("metrics", prev.Metrics, next.Metrics, func() { kept.Metrics = prev.Metrics })
	restart("trust", prev.Trust, next.Trust, func() { kept.Trust = prev.Trust })
	restart("revocation", prev.Revocation, next.Revocation, func() { kept.Revocation = prev.Revocation })
	restart("certificates", prev.Certificates, next.Certificates, func() { kept.Certificates = prev.Certificates })
	restart("limits.dialog_queue", prev.Limits.DialogQueue, next.Limits.DialogQueue, func() { kept.Limits.DialogQueue = prev.Limits.DialogQueue })
	restart("limits.parses, parse_time and parse_memory_bytes", parseLimits(prev), parseLimits(next), func() {
		kept.Limits.Parses, kept.Limits.ParseTime, kept.Limits.ParseMemoryBytes = prev.Limits.Parses, prev.Limits.ParseTime, prev.Limits.ParseMemoryBytes
	})
	if next.Limits.HeapBytes != prev.Limits.HeapBytes && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(next.Limits.HeapBytes)
	}
	a.cfg.Store(&kept)
	a.log.Info("configuration reloaded", "origins", len(kept.Origins))
	for _, n := range notes {
		a.log.Warn(n)
	}
	return notes
}
