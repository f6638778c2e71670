//go:build !windows

package config

import (
	"fmt"
	"os"
	"syscall"
)

// policyWritable warns when the policy file could be changed by someone
// other than root: then it restrains nobody.
func policyWritable(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm()&0o022 != 0 || (ok && st.Uid != 0) {
		return fmt.Sprintf("the policy %s is not owned by root or is writable by others (%v): anyone who can edit it can widen it; chown root and chmod 644", path, fi.Mode().Perm())
	}
	return ""
}

// configWritable warns when the user's configuration — which names the
// pinentry program and the PKCS#11 modules the agent loads — could be
// changed by another user.
func configWritable(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm()&0o022 != 0 || (ok && int(st.Uid) != os.Getuid()) {
		return fmt.Sprintf("the configuration %s is writable by others or not yours (%v): whoever can edit it chooses the PIN dialog and the token drivers the agent loads; chmod 600 it", path, fi.Mode().Perm())
	}
	return ""
}
