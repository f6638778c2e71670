//go:build !windows

package browserpolicy

// System returns this machine's policy store: the managed directories.
func System() Store { return Files{Root: "/"} }
