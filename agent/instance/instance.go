// Package instance keeps one agent per user: the agent holds an exclusive
// lock on a file in its state while it runs. With a range of ports a
// second agent of the same user would otherwise start on the next port and
// empty the first one's upload spool.
package instance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrRunning means another agent holds the lock.
var ErrRunning = errors.New("another tte-agent of this user is running")

// Lock takes the lock file at path (created if missing) and returns its
// release. The lock goes with the process, so a crashed agent leaves none.
func Lock(path string) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to open the lock %s: %w", path, err)
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (it holds %s); stop it first (`tte-agent service stop`), or give this one another [uploads] dir", ErrRunning, path)
	}
	return func() { f.Close() }, nil
}
