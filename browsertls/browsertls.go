// Package browsertls tells whether the user's browsers can use the token
// for TLS client authentication — the regulations' fourth use of an ASN's
// certificate — and sets them up. On Linux, Chromium, Chrome and Firefox
// reach smartcards through their NSS databases (Chromium and Chrome share
// ~/.pki/nssdb, Firefox keeps one per profile): a database whose
// pkcs11.txt loads the token's PKCS#11 module, or p11-kit's proxy (which
// loads every module registered with p11-kit), lets the browser offer the
// token's certificate to a site that asks for one. Register adds the
// module with NSS's own modutil.
package browsertls

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// DB is one browser's NSS database.
type DB struct {
	// Browser names who uses it: "Chromium/Chrome" or "Firefox (profile)".
	Browser string
	// Dir is the database directory (sql: format, with pkcs11.txt).
	Dir string
	// Modules are the PKCS#11 libraries it loads (the internal one left out).
	Modules []string
}

// ErrNoTool means NSS's command-line tools are missing.
var ErrNoTool = errors.New("NSS's modutil and certutil are needed (Debian package libnss3-tools)")

// ChromiumDir is where Chromium and Chrome keep their NSS database on
// Linux, under home.
func ChromiumDir(home string) string { return filepath.Join(home, ".pki", "nssdb") }

// Find returns the NSS databases under home: Chromium's and every Firefox
// profile's (the deb's and the snap's), those that exist.
func Find(home string) ([]DB, error) {
	var dbs []DB
	if db, err := read("Chromium/Chrome", ChromiumDir(home)); err == nil {
		dbs = append(dbs, db)
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	for _, root := range []string{filepath.Join(home, ".mozilla", "firefox"), filepath.Join(home, "snap", "firefox", "common", ".mozilla", "firefox")} {
		profiles, _ := filepath.Glob(filepath.Join(root, "*", "pkcs11.txt"))
		slices.Sort(profiles)
		for _, p := range profiles {
			dir := filepath.Dir(p)
			db, err := read(fmt.Sprintf("Firefox (%s)", filepath.Base(dir)), dir)
			if err != nil {
				return nil, err
			}
			dbs = append(dbs, db)
		}
	}
	return dbs, nil
}

func read(browser, dir string) (DB, error) {
	data, err := os.ReadFile(filepath.Join(dir, "pkcs11.txt"))
	if err != nil {
		return DB{}, err
	}
	return DB{Browser: browser, Dir: dir, Modules: Modules(data)}, nil
}

// Modules returns the libraries a pkcs11.txt loads, the internal module
// (an empty library=) left out.
func Modules(pkcs11txt []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(pkcs11txt))
	for sc.Scan() {
		if lib, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "library="); ok && lib != "" {
			out = append(out, lib)
		}
	}
	return out
}

// Loads reports whether the database loads one of the modules, or p11-kit's
// proxy when p11kit says the token's module is registered with p11-kit.
func (db DB) Loads(modules []string, p11kit bool) bool {
	for _, lib := range db.Modules {
		if p11kit && strings.Contains(filepath.Base(lib), "p11-kit-proxy") {
			return true
		}
		for _, m := range modules {
			if sameFile(lib, m) {
				return true
			}
		}
	}
	return false
}

func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// Register adds lib to the database under name (modutil -add), refusing
// nothing the user must confirm (-force: no interactive prompt).
func Register(db DB, name, lib string) error {
	if _, err := exec.LookPath("modutil"); err != nil {
		return ErrNoTool
	}
	out, err := exec.Command("modutil", "-dbdir", "sql:"+db.Dir, "-add", name, "-libfile", lib, "-force").CombinedOutput()
	if err != nil {
		return fmt.Errorf("modutil -add %s in %s: %v: %s", lib, db.Dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// CreateChromium makes Chromium's NSS database (empty password), as
// Chromium does at its first start, so that the module can be registered
// before that.
func CreateChromium(home string) (DB, error) {
	if _, err := exec.LookPath("certutil"); err != nil {
		return DB{}, ErrNoTool
	}
	dir := ChromiumDir(home)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return DB{}, err
	}
	if out, err := exec.Command("certutil", "-N", "-d", "sql:"+dir, "--empty-password").CombinedOutput(); err != nil {
		return DB{}, fmt.Errorf("certutil -N in %s: %v: %s", dir, err, strings.TrimSpace(string(out)))
	}
	return read("Chromium/Chrome", dir)
}
