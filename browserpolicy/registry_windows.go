//go:build windows

package browserpolicy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"golang.org/x/sys/windows/registry"
)

// System returns this machine's policy store: the registry.
func System() Store { return Registry{Root: registry.LOCAL_MACHINE} }

// Registry is the Windows policy store: a list policy is a key under the
// browser's policy key whose values "1", "2", ... are the URL patterns.
// What tte-agent added is remembered under ownKey, so that an
// administrator's own entries survive a rewrite and an uninstall.
type Registry struct {
	Root registry.Key
}

const ownKey = `SOFTWARE\tte-agent\BrowserPolicy`

// Write puts origins after the administrator's own entries of each list.
func (r Registry) Write(b Browser, origins []string) error {
	return r.set(b, origins)
}

// Remove takes tte-agent's entries out of each list.
func (r Registry) Remove(b Browser) error {
	return r.set(b, nil)
}

func (r Registry) set(b Browser, origins []string) error {
	own, _, err := registry.CreateKey(r.Root, ownKey, registry.ALL_ACCESS)
	if err != nil {
		return err
	}
	defer own.Close()
	before, _, err := own.GetStringsValue(b.Name)
	if err != nil && !errors.Is(err, registry.ErrNotExist) {
		return err
	}
	for _, p := range Policies {
		path := b.Key + `\` + p
		k, _, err := registry.CreateKey(r.Root, path, registry.ALL_ACCESS)
		if err != nil {
			return fmt.Errorf(`HKLM\%s: %w`, path, err)
		}
		list, err := readList(k)
		if err != nil {
			k.Close()
			return err
		}
		var keep []string
		for _, v := range list {
			if !slices.Contains(before, v) {
				keep = append(keep, v)
			}
		}
		list = append(keep, origins...)
		err = writeList(k, list)
		k.Close()
		if err != nil {
			return fmt.Errorf(`HKLM\%s: %w`, path, err)
		}
		if len(list) == 0 {
			registry.DeleteKey(r.Root, path)
		}
	}
	if len(origins) == 0 {
		if err := own.DeleteValue(b.Name); err != nil && !errors.Is(err, registry.ErrNotExist) {
			return err
		}
		return nil
	}
	return own.SetStringsValue(b.Name, origins)
}

// readList returns the values "1", "2", ... of a list policy key in order.
func readList(k registry.Key) ([]string, error) {
	names, err := k.ReadValueNames(0)
	if err != nil {
		return nil, err
	}
	type entry struct {
		n int
		v string
	}
	var entries []entry
	for _, name := range names {
		n, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		v, _, err := k.GetStringValue(name)
		if err != nil {
			continue
		}
		entries = append(entries, entry{n, v})
	}
	slices.SortFunc(entries, func(a, b entry) int { return a.n - b.n })
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.v
	}
	return out, nil
}

// writeList replaces the numbered values of a list policy key.
func writeList(k registry.Key, list []string) error {
	names, err := k.ReadValueNames(0)
	if err != nil {
		return err
	}
	for _, name := range names {
		if _, err := strconv.Atoi(name); err == nil {
			if err := k.DeleteValue(name); err != nil {
				return err
			}
		}
	}
	for i, v := range list {
		if err := k.SetStringValue(strconv.Itoa(i+1), v); err != nil {
			return err
		}
	}
	return nil
}

// Coverage reads each list policy of the browser.
func (r Registry) Coverage(b Browser) (Coverage, error) {
	c := Coverage{Patterns: map[string][]string{}, Sources: map[string]int{}}
	for _, p := range Policies {
		k, err := registry.OpenKey(r.Root, b.Key+`\`+p, registry.READ)
		if errors.Is(err, registry.ErrNotExist) {
			continue
		}
		if err != nil {
			return c, err
		}
		list, err := readList(k)
		k.Close()
		if err != nil {
			return c, err
		}
		c.Patterns[p], c.Sources[p] = list, 1
	}
	return c, nil
}

// appPaths are the App Paths entries browsers register on Windows.
var appPaths = map[string]string{"Google Chrome": "chrome.exe", "Microsoft Edge": "msedge.exe", "Chromium": "chromium.exe"}

// Installed reports whether the browser registered its App Path.
func (r Registry) Installed(b Browser) bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows\CurrentVersion\App Paths\`+appPaths[b.Name], registry.READ)
	if err != nil {
		return false
	}
	k.Close()
	return true
}
