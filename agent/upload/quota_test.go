package upload

import (
	"errors"
	"testing"
)

// Spooled documents together stay within the quota, and within the disk's
// free space less the reserve; a removed document gives its share back.
func TestSpoolQuota(t *testing.T) {
	s, err := Open(t.TempDir(), 1024, 1024)
	if err != nil {
		t.Fatal(err)
	}
	s.SetQuota(3 << 20)
	set := s.NewSet(8, 8)
	a, err := set.Begin("a.pdf", 2<<20, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Begin("b.pdf", 2<<20, ""); !errors.Is(err, ErrSpoolFull) {
		t.Fatalf("over the quota: %v", err)
	}
	a.Remove()
	b, err := set.Begin("b.pdf", 2<<20, "")
	if err != nil {
		t.Fatalf("after a removal: %v", err)
	}
	b.Remove()

	// A disk whose free space is all reserve takes nothing.
	s.SetQuota(1 << 40)
	s.diskReserve = freeSpace(s.dir)
	if _, err := set.Begin("c.pdf", 2<<20, ""); !errors.Is(err, ErrSpoolFull) {
		t.Fatalf("a full disk: %v", err)
	}
	// The default quota is a quarter of the free space.
	s.diskReserve = DiskReserve
	s.SetQuota(0)
	if q := s.spoolLeft.Load(); q <= 0 || q > freeSpace(s.dir)/4+1 {
		t.Errorf("default quota %d of %d free", q, freeSpace(s.dir))
	}
}
