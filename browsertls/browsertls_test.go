package browsertls

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const softhsm = "/usr/lib/softhsm/libsofthsm2.so"

// TestRegister: on a real NSS database made with certutil, a module that is
// not loaded is seen missing, Register adds it with modutil, and Find then
// sees it — for Chromium's database and a Firefox profile.
func TestRegister(t *testing.T) {
	for _, tool := range []string{"certutil", "modutil"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run scripts/install-deps.sh test (libnss3-tools)", tool)
		}
	}
	home := t.TempDir()
	if dbs, err := Find(home); err != nil || len(dbs) != 0 {
		t.Fatalf("an empty home: %v %v", dbs, err)
	}
	if _, err := CreateChromium(home); err != nil {
		t.Fatal(err)
	}
	profile := filepath.Join(home, ".mozilla", "firefox", "abcd.default-release")
	os.MkdirAll(profile, 0o700)
	if out, err := exec.Command("certutil", "-N", "-d", "sql:"+profile, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil: %v %s", err, out)
	}
	dbs, err := Find(home)
	if err != nil || len(dbs) != 2 || dbs[1].Browser != "Firefox (abcd.default-release)" {
		t.Fatalf("Find: %+v %v", dbs, err)
	}
	for _, db := range dbs {
		if db.Loads([]string{softhsm}, false) {
			t.Errorf("%s loads the module before Register", db.Browser)
		}
		if err := Register(db, "tte-agent", softhsm); err != nil {
			t.Fatal(err)
		}
	}
	dbs, _ = Find(home)
	for _, db := range dbs {
		if !db.Loads([]string{softhsm}, false) {
			t.Errorf("%s does not load the module after Register: %v", db.Browser, db.Modules)
		}
	}
	if !(DB{Modules: []string{"/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so"}}).Loads([]string{softhsm}, true) {
		t.Error("p11-kit's proxy is not taken for a module registered with p11-kit")
	}
}
