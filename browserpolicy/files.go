package browserpolicy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Files is the Linux policy store: each browser's managed directory under
// Root ("/" on a machine; a test directory in tests).
type Files struct {
	Root string
}

// marker is a key Chrome ignores (an unknown policy name is reported and
// skipped) that tells tte-agent's file from an administrator's.
const marker = "_comment"

const markerText = "Written by `tte-agent policy write`; `tte-agent policy remove` deletes it. The e-office origins of the agent's policy."

func (f Files) dir(b Browser) string { return filepath.Join(f.Root, b.Dir) }

// Write writes the browser's policy file naming origins (0644: browsers
// run as every user), replacing the previous one at once.
func (f Files) Write(b Browser, origins []string) error {
	dir := f.dir(b)
	if err := f.checkOurs(b); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	doc := map[string]any{marker: markerText}
	for _, p := range Policies {
		doc[p] = append([]string{}, origins...)
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, FileName)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// checkOurs refuses to replace a file of the same name that an
// administrator wrote.
func (f Files) checkOurs(b Browser) error {
	data, err := os.ReadFile(filepath.Join(f.dir(b), FileName))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var doc map[string]any
	if json.Unmarshal(data, &doc) != nil || doc[marker] != markerText {
		return fmt.Errorf("%s: %w", filepath.Join(f.dir(b), FileName), ErrNotOurs)
	}
	return nil
}

// Remove deletes the browser's policy file if tte-agent wrote it.
func (f Files) Remove(b Browser) error {
	if err := f.checkOurs(b); err != nil {
		return err
	}
	err := os.Remove(filepath.Join(f.dir(b), FileName))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// Coverage reads every policy file of the browser's managed directory.
func (f Files) Coverage(b Browser) (Coverage, error) {
	c := Coverage{Patterns: map[string][]string{}, Sources: map[string]int{}}
	entries, err := os.ReadDir(f.dir(b))
	if os.IsNotExist(err) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	names := []string{}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(f.dir(b), name))
		if err != nil {
			return c, err
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(data, &doc); err != nil {
			return c, fmt.Errorf("%s: not JSON, the browser ignores it: %w", filepath.Join(f.dir(b), name), err)
		}
		for _, p := range Policies {
			raw, ok := doc[p]
			if !ok {
				continue
			}
			var list []string
			if err := json.Unmarshal(raw, &list); err != nil {
				return c, fmt.Errorf("%s: %s is not a list of strings", filepath.Join(f.dir(b), name), p)
			}
			c.Patterns[p] = append(c.Patterns[p], list...)
			c.Sources[p]++
		}
	}
	return c, nil
}

// Installed reports whether the browser is installed under Root.
func (f Files) Installed(b Browser) bool {
	for _, p := range b.Programs {
		if _, err := os.Stat(filepath.Join(f.Root, p)); err == nil {
			return true
		}
	}
	return false
}
