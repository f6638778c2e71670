//go:build !linux

package main

// harden does nothing here: Windows writes no core files by default, and
// other systems are not supported targets.
func harden() error { return nil }
