package instance

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A second holder is refused until the first lets go; a process that dies
// leaves no lock behind.
func TestLock(t *testing.T) {
	if path := os.Getenv("TTE_LOCK_HOLD"); path != "" {
		if _, err := Lock(path); err != nil {
			os.Exit(3)
		}
		os.Exit(0) // dies holding it
	}
	path := filepath.Join(t.TempDir(), "state", "agent.lock")
	release, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(path); !errors.Is(err, ErrRunning) {
		t.Errorf("second lock: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "TestLock")
	cmd.Env = append(os.Environ(), "TTE_LOCK_HOLD="+path)
	if err := cmd.Run(); err == nil {
		t.Error("another process took a held lock")
	}
	release()
	cmd = exec.Command(os.Args[0], "-test.run", "TestLock")
	cmd.Env = append(os.Environ(), "TTE_LOCK_HOLD="+path)
	if err := cmd.Run(); err != nil {
		t.Errorf("the lock was not released: %v", err)
	}
	again, err := Lock(path) // the child died holding it
	if err != nil {
		t.Errorf("a dead holder's lock: %v", err)
	}
	again()
}
