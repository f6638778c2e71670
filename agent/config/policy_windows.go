//go:build windows

package config

// policyWritable is not checked on Windows: %ProgramData%\tte-agent gets
// its ACL from the MSI (administrators write, users read).
func policyWritable(string) string { return "" }

func configWritable(string) string { return "" }
