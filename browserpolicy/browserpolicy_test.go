package browserpolicy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		pattern, origin string
		want            bool
	}{
		{"https://eoffice.denpasarkota.go.id", "https://eoffice.denpasarkota.go.id", true},
		{"https://eoffice.denpasarkota.go.id/", "https://eoffice.denpasarkota.go.id", true},
		{"https://EOFFICE.denpasarkota.go.id", "https://eoffice.denpasarkota.go.id", true},
		{"https://eoffice.denpasarkota.go.id", "http://eoffice.denpasarkota.go.id", false},
		{"https://eoffice.denpasarkota.go.id", "https://eoffice.madiunkota.go.id", false},
		{"https://eoffice.denpasarkota.go.id:443", "https://eoffice.denpasarkota.go.id", true},
		{"https://eoffice.denpasarkota.go.id:8443", "https://eoffice.denpasarkota.go.id", false},
		{"https://eoffice.denpasarkota.go.id:8443", "https://eoffice.denpasarkota.go.id:8443", true},
		{"[*.]go.id", "https://eoffice.denpasarkota.go.id", true},
		{"[*.]go.id", "http://go.id", true},
		{"https://[*.]denpasarkota.go.id", "https://eoffice.denpasarkota.go.id", true},
		{"[*.]denpasarkota.go.id", "https://evilgo.id", false},
		{"*", "https://anything.example", true},
		{"eoffice.denpasarkota.go.id", "https://eoffice.denpasarkota.go.id", true},
		{"", "https://eoffice.denpasarkota.go.id", false},
		{"https://eoffice.denpasarkota.go.id", "not an origin", false},
	} {
		if got := Covers(c.pattern, c.origin); got != c.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", c.pattern, c.origin, got, c.want)
		}
	}
}

// TestFiles: the policy files policy write leaves are what Chromium reads,
// an administrator's own file is never replaced or removed, and doctor's
// coverage sees every file and tells when several set one policy.
func TestFiles(t *testing.T) {
	root := t.TempDir()
	f := Files{Root: root}
	origins := []string{"https://eoffice.denpasarkota.go.id", "https://tte.madiunkota.go.id"}
	if err := WriteAll(f, origins); err != nil {
		t.Fatal(err)
	}
	for _, b := range Browsers {
		path := filepath.Join(root, b.Dir, FileName)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("%s: %v", b.Name, err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644 (every user's browser reads it)", path, fi.Mode().Perm())
		}
		c, err := f.Coverage(b)
		if err != nil {
			t.Fatal(err)
		}
		if m := c.Missing(origins); len(m) != 0 {
			t.Errorf("%s: not covered after Write: %v", b.Name, m)
		}
		if m := c.Missing([]string{"https://other.go.id"}); !slices.Equal(m, []string{"https://other.go.id"}) {
			t.Errorf("%s: another origin reported covered: %v", b.Name, m)
		}
	}
	chromium := Browsers[1]
	// An administrator's file beside ours: both count, and that one
	// policy has two sources is visible.
	admin := filepath.Join(root, chromium.Dir, "kominfo.json")
	os.WriteFile(admin, []byte(`{"LocalNetworkAccessAllowedForUrls": ["https://sipd.go.id"], "HomepageLocation": "https://go.id"}`), 0o644)
	c, err := f.Coverage(chromium)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sources["LocalNetworkAccessAllowedForUrls"] != 2 || c.Sources["LoopbackNetworkAllowedForUrls"] != 1 {
		t.Errorf("sources %v", c.Sources)
	}
	if m := c.Missing([]string{"https://sipd.go.id"}); len(m) != 1 {
		t.Errorf("an origin in one of the two policies only is covered: %v", m)
	}
	// An administrator's file named like ours is left alone.
	edge := Browsers[2]
	os.WriteFile(filepath.Join(root, edge.Dir, FileName), []byte(`{"LocalNetworkAccessAllowedForUrls": ["*"]}`), 0o644)
	if err := f.Write(edge, origins); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Write over an administrator's file: %v", err)
	}
	if err := f.Remove(edge); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Remove of an administrator's file: %v", err)
	}
	os.Remove(filepath.Join(root, edge.Dir, FileName))
	// No origins: tte-agent's files go, the administrator's stays.
	if err := WriteAll(f, nil); err != nil {
		t.Fatal(err)
	}
	for _, b := range Browsers {
		if _, err := os.Stat(filepath.Join(root, b.Dir, FileName)); !os.IsNotExist(err) {
			t.Errorf("%s: tte-agent's file left after removal: %v", b.Name, err)
		}
	}
	if _, err := os.Stat(admin); err != nil {
		t.Errorf("the administrator's file went: %v", err)
	}
	// A broken file is reported: the browser ignores it.
	os.WriteFile(admin, []byte("{"), 0o644)
	if _, err := f.Coverage(chromium); err == nil {
		t.Error("a file that is not JSON is not reported")
	}
}

func TestInstalled(t *testing.T) {
	root := t.TempDir()
	f := Files{Root: root}
	if f.Installed(Browsers[1]) {
		t.Fatal("Chromium reported installed in an empty root")
	}
	os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/bin/chromium"), nil, 0o755)
	if !f.Installed(Browsers[1]) || f.Installed(Browsers[0]) {
		t.Error("installed browsers misread")
	}
}
