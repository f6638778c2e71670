//go:build !windows

package browsertls

import (
	"crypto/x509"
	"errors"
)

// ErrNotWindows means a Windows-only check on another system.
var ErrNotWindows = errors.New("only on Windows")

// ReadWindows reads what Windows offers browsers (Windows only).
func ReadWindows(certs []*x509.Certificate) (Windows, error) { return Windows{}, ErrNotWindows }

// SetupFirefox makes Firefox load a PKCS#11 module (Windows only).
func SetupFirefox(name, lib string) error { return ErrNotWindows }
