package upload

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func files(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSmallInMemoryLargeSpooled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	s, err := Open(dir, 1024, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("spool dir mode %v, want 0700", fi.Mode().Perm())
	}
	set := s.NewSet(8, 8)
	for _, size := range []int{10, 1024, 5000} {
		data := bytes.Repeat([]byte("x"), size)
		u, err := set.Begin("doc", int64(size), "application/pdf")
		if err != nil {
			t.Fatal(err)
		}
		if f := files(t, dir); len(f) != 0 {
			t.Errorf("size %d: a declared upload has a file before its first byte: %v", size, f)
		}
		for off := 0; off < size; off += 700 {
			if err := set.Write(u.ID, data[off:min(off+700, size)]); err != nil {
				t.Fatal(err)
			}
			if off > 0 {
				continue
			}
			onDisk := len(files(t, dir)) > 0
			if want := size > 1024; onDisk != want {
				t.Errorf("size %d: spooled %v, want %v", size, onDisk, want)
			}
			if onDisk {
				fi, _ := os.Stat(files(t, dir)[0])
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("spool file mode %v, want 0600", fi.Mode().Perm())
				}
			}
		}
		if err := u.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		d, _ := u.Digest(crypto.SHA256)
		if want := sha256.Sum256(data); !bytes.Equal(d, want[:]) {
			t.Errorf("size %d: SHA-256 wrong", size)
		}
		d, _ = u.Digest(crypto.SHA384)
		if want := sha512.Sum384(data); !bytes.Equal(d, want[:]) {
			t.Errorf("size %d: SHA-384 wrong", size)
		}
		got, _ := io.ReadAll(io.NewSectionReader(u, 0, u.Size))
		if !bytes.Equal(got, data) {
			t.Errorf("size %d: read back differs", size)
		}
		if err := set.Discard(u.ID); err != nil {
			t.Fatal(err)
		}
		if f := files(t, dir); len(f) != 0 {
			t.Errorf("size %d: files left after discard: %v", size, f)
		}
	}
	if s.budget.Load() != 4096 {
		t.Errorf("memory budget not returned: %d", s.budget.Load())
	}
}

func TestBudgetSpillsToDisk(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 1000, 1500)
	set := s.NewSet(8, 8)
	a, _ := set.Begin("a", 1000, "")
	b, _ := set.Begin("b", 1000, "") // over the budget: on disk
	if a.spooled != 0 || b.spooled == 0 {
		t.Errorf("a on disk %v, b on disk %v; want false, true", a.spooled != 0, b.spooled != 0)
	}
	set.Close()
	if f := files(t, dir); len(f) != 0 || s.budget.Load() != 1500 {
		t.Errorf("after Close: files %v, budget %d", f, s.budget.Load())
	}
}

func TestOverflowUnknownAndLimits(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 0, 0)
	set := s.NewSet(2, 3)
	u, _ := set.Begin("a", 4, "")
	if err := set.Write(u.ID, []byte("abcde")); !errors.Is(err, ErrOverflow) {
		t.Errorf("overflow: %v", err)
	}
	if err := u.Wait(context.Background()); !errors.Is(err, ErrDiscarded) {
		t.Errorf("waiting on an overflowed upload: %v", err)
	}
	if f := files(t, dir); len(f) != 0 {
		t.Errorf("files left after overflow: %v", f)
	}
	if err := set.Write(u.ID, []byte("a")); !errors.Is(err, ErrUnknown) {
		t.Errorf("frame after discard: %v", err)
	}
	if err := set.Write(99, []byte("a")); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown id: %v", err)
	}
	c, _ := set.Begin("c", 1, "")
	set.Write(c.ID, []byte("c"))
	if err := set.Write(c.ID, []byte("c")); !errors.Is(err, ErrOverflow) {
		t.Errorf("frame after completion: %v", err)
	}
	// The overflow discarded c. A complete upload does not count as
	// receiving, but it is held; a declared upload receives from its
	// first byte.
	set = s.NewSet(2, 4)
	a, _ := set.Begin("a", 2, "")
	b, _ := set.Begin("b", 2, "")
	c, err := set.Begin("c", 2, "")
	if err != nil {
		t.Fatalf("a third declared upload: %v", err)
	}
	set.Write(a.ID, []byte("a"))
	set.Write(b.ID, []byte("b"))
	if err := set.Write(c.ID, []byte("c")); !errors.Is(err, ErrTooMany) {
		t.Errorf("first byte of a third receiving upload: %v", err)
	}
	if err := c.Wait(context.Background()); !errors.Is(err, ErrDiscarded) {
		t.Errorf("the third receiving upload was not discarded: %v", err)
	}
	set.Write(a.ID, []byte("a")) // a is complete: b alone receives
	d, _ := set.Begin("d", 2, "")
	if err := set.Write(d.ID, []byte("d")); err != nil {
		t.Errorf("second receiving upload after one completed: %v", err)
	}
	set.Begin("e", 1, "") // a, b, d, e: four held
	if _, err := set.Begin("f", 1, ""); !errors.Is(err, ErrTooMany) {
		t.Errorf("fifth held upload: %v", err)
	}
	set.Discard(a.ID)
	if _, err := set.Begin("g", 1, ""); err != nil {
		t.Errorf("after a discard: %v", err)
	}
}

func TestWaitAndEmpty(t *testing.T) {
	s, _ := Open(t.TempDir(), 10, 10)
	set := s.NewSet(4, 4)
	e, _ := set.Begin("empty", 0, "")
	if err := e.Wait(context.Background()); err != nil {
		t.Errorf("empty upload: %v", err)
	}
	u, _ := set.Begin("slow", 2, "")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := u.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait on an incomplete upload: %v", err)
	}
	go func() { time.Sleep(20 * time.Millisecond); set.Write(u.ID, []byte("ab")) }()
	if err := u.Wait(context.Background()); err != nil {
		t.Errorf("Wait: %v", err)
	}
}

func TestOpenRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, filePrefix+"12345")
	other := filepath.Join(dir, "keep.txt")
	os.WriteFile(stale, []byte("secret letter"), 0o600)
	os.WriteFile(other, []byte("x"), 0o600)
	if _, err := Open(dir, 1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("leftover upload survived a restart: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a file that is not ours was removed: %v", err)
	}
}
