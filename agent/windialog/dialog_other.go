//go:build !windows

package windialog

import (
	"context"
	"errors"
	"time"

	"github.com/tte-agent/tte-agent/agent/pinentry"
)

// Prompter is the native dialog; it exists on Windows only.
type Prompter struct{}

// New reports that the native dialog is Windows-only: elsewhere the agent
// uses a pinentry program.
func New(time.Duration) (*Prompter, error) {
	return nil, errors.New("the native PIN dialog is Windows-only; configure [pinentry] program")
}

// GetPIN is never reached: New fails outside Windows.
func (*Prompter) GetPIN(context.Context, pinentry.Dialog) ([]byte, error) {
	return nil, errors.New("no native dialog on this platform")
}

// Confirm is never reached: New fails outside Windows.
func (*Prompter) Confirm(context.Context, pinentry.Dialog) error {
	return errors.New("no native dialog on this platform")
}

// Warm does nothing.
func (*Prompter) Warm() {}
