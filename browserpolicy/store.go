package browserpolicy

// Store is where a machine's browser policies live.
type Store interface {
	// Write makes the browser's policies allow origins (tte-agent's
	// part; an administrator's own entries stay).
	Write(b Browser, origins []string) error
	// Remove takes tte-agent's part away.
	Remove(b Browser) error
	// Coverage reads what the browser's policies allow, whoever wrote it.
	Coverage(b Browser) (Coverage, error)
	// Installed reports whether the browser is on the machine.
	Installed(b Browser) bool
}

// WriteAll writes every browser's policies for origins; no origins
// removes tte-agent's part. It returns the first error after trying all.
func WriteAll(s Store, origins []string) error {
	var first error
	for _, b := range Browsers {
		var err error
		if len(origins) == 0 {
			err = s.Remove(b)
		} else {
			err = s.Write(b, origins)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}
