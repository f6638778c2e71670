package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// rotatedSuffix is how rotation names a file: path.YYYYMMDDTHHMMSS.NNNNNNNNN.
var rotatedSuffix = regexp.MustCompile(`^\.\d{8}T\d{6}\.\d{9}$`)

// rotatedName returns the name rotation gives path at stamp.
func rotatedName(path, stamp string) string { return path + "." + stamp }

// Files returns the trail's files, oldest first: the rotated files, named
// exactly as rotation names them (a stray audit.log.bak is not one), then
// path itself.
func Files(path string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	base := filepath.Base(path)
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(name, base) && rotatedSuffix.MatchString(name[len(base):]) {
			out = append(out, filepath.Join(filepath.Dir(path), name))
		}
	}
	sort.Strings(out) // the stamp sorts by time
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
		out = append(out, path)
	}
	return out, nil
}

// openNoFollow opens a trail file without following a symbolic link: a
// link planted where the trail lives could otherwise send records into
// another file, or read a forged trail.
func openNoFollow(path string, flag int) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("the audit trail %s is a symbolic link: refused (remove it; the agent creates the file)", path)
	}
	f, err := os.OpenFile(path, flag|oNoFollow, 0o600)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			return nil, fmt.Errorf("the audit trail %s is a symbolic link: refused (remove it; the agent creates the file)", path)
		}
		return nil, err
	}
	return f, nil
}

// checkDir makes the trail's directory (0700) and refuses one that is a
// symbolic link.
func checkDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("failed to create the audit directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("failed to create the audit directory: %w", err)
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return fmt.Errorf("failed to read the audit directory: %w", err)
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("the audit directory %s is a symbolic link: refused (make it a real directory)", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("the audit directory %s is not a directory", dir)
	}
	return nil
}
