// Package upload receives the documents pages send in binary frames: it
// hashes them while they arrive, keeps small ones in memory within a budget
// and spools the rest to 0600 files in a private directory, and deletes
// every byte when the document is consumed, discarded, or its connection
// closes. Files left by a crash are removed when the store opens.
package upload

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Errors that callers branch on.
var (
	// ErrUnknown means no open upload has the id.
	ErrUnknown = errors.New("unknown upload id")
	// ErrOverflow means more bytes arrived than the declared size.
	ErrOverflow = errors.New("more bytes than the declared size")
	// ErrTooMany means the connection has the maximum of open uploads.
	ErrTooMany = errors.New("too many open uploads")
	// ErrDiscarded means the upload was discarded before it completed.
	ErrDiscarded = errors.New("upload discarded")
	// ErrSpoolFull means the spool's quota, or the disk's free space
	// beyond its reserve, cannot take the document.
	ErrSpoolFull = errors.New("the document spool is full")
)

// filePrefix marks the store's files, so cleanup removes only ours.
const filePrefix = "upload-"

// Store holds the documents of every connection.
type Store struct {
	dir string
	// memMax is the largest document kept in memory.
	memMax int64
	// budget is how many bytes all in-memory documents may take together.
	budget atomic.Int64
	// spoolLeft is how many more bytes the spool may hold (its quota
	// less what spooled documents have declared).
	spoolLeft atomic.Int64
	// diskReserve is free space on the spool's disk that documents never
	// take, so that the audit trail and the system keep room.
	diskReserve int64
}

// DiskReserve is the free space the spool always leaves on its disk.
const DiskReserve = 64 << 20

// SetQuota bounds what all spooled documents together may declare; zero
// or less takes a quarter of the disk's free space now.
func (s *Store) SetQuota(quota int64) {
	if quota <= 0 {
		quota = max(0, freeSpace(s.dir)-s.diskReserve) / 4
	}
	s.spoolLeft.Store(quota)
}

// Open prepares dir as a private spool directory (0700) and removes
// anything an earlier run left there. memMax bounds one in-memory
// document, memBudget all of them together.
func Open(dir string, memMax, memBudget int64) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create the upload directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to make the upload directory private: %w", err)
	}
	s := &Store{dir: dir, memMax: memMax, diskReserve: DiskReserve}
	if err := s.Clear(); err != nil {
		return nil, err
	}
	s.SetQuota(0)
	s.budget.Store(memBudget)
	return s, nil
}

// Clear removes every spool file of the store's directory: at start what
// a crashed run left, at stop what a request still held.
func (s *Store) Clear() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("failed to read the upload directory: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() && len(e.Name()) > len(filePrefix) && e.Name()[:len(filePrefix)] == filePrefix {
			if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("failed to remove a spooled upload: %w", err)
			}
		}
	}
	return nil
}

// Dir returns the spool directory.
func (s *Store) Dir() string { return s.dir }

// Set is the uploads of one connection. Its methods are safe for
// concurrent use.
type Set struct {
	store *Store
	// receiving bounds uploads still receiving bytes; held bounds all
	// uploads the set holds, complete or not.
	receiving int
	held      int
	mu        sync.Mutex
	next      uint64
	open      map[uint64]*Upload
}

// NewSet returns an empty set that allows receiving uploads still
// arriving at once and held uploads in all (complete ones waiting for a
// sign request included).
func (s *Store) NewSet(receiving, held int) *Set {
	return &Set{store: s, receiving: receiving, held: held, open: map[uint64]*Upload{}}
}

// Begin opens an upload of a declared size and returns it.
func (s *Set) Begin(name string, size int64, mediaType string) (*Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.open) >= s.held {
		return nil, ErrTooMany
	}
	s.next++
	u, err := s.store.newUpload(s.next, name, size, mediaType)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		u.finish(nil)
	}
	s.open[u.ID] = u
	return u, nil
}

// newUpload reserves a new upload's size: memory within the budget for a
// small one, the spool's quota and disk space for the rest.
func (s *Store) newUpload(id uint64, name string, size int64, mediaType string) (*Upload, error) {
	u := &Upload{ID: id, Name: name, MediaType: mediaType, Size: size, store: s,
		sha: sha256.New(), done: make(chan struct{})}
	// A declared upload holds its reservation but no memory and no file
	// until its first byte (write), so that a page can declare a whole
	// batch before its bytes and name it in a sign request at once.
	if size <= s.memMax && s.budget.Add(-size) >= 0 {
		u.reserved = size
	} else {
		if size <= s.memMax {
			s.budget.Add(size) // the reservation failed
		}
		// The whole declared size is reserved on disk before the first
		// byte: a full disk is refused up front, not found mid-upload
		// (where it would cost the audit trail its room).
		if s.spoolLeft.Add(-size) < 0 || freeSpace(s.dir)-size < s.diskReserve {
			s.spoolLeft.Add(size)
			return nil, ErrSpoolFull
		}
		u.spooled = size
	}
	return u, nil
}

// NewResult makes an upload the agent itself writes with Write — a
// result held for a page to download — under the same memory budget,
// spool quota and cleanup as the pages' uploads, outside any connection's
// limits. Remove releases it.
func (s *Store) NewResult(name string, size int64) (*Upload, error) {
	u, err := s.newUpload(0, name, size, "")
	if err != nil {
		return nil, err
	}
	if size == 0 {
		u.finish(nil)
	}
	return u, nil
}

// Write appends to a result made by NewResult; more than its size is
// ErrOverflow.
func (u *Upload) Write(p []byte) (int, error) {
	if err := u.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Write appends a binary frame's payload to the upload. On any error the
// upload is discarded and its bytes deleted.
func (s *Set) Write(id uint64, payload []byte) error {
	s.mu.Lock()
	u, ok := s.open[id]
	if ok && len(payload) > 0 && !u.started {
		// The first byte: the upload starts receiving, within the
		// receiving limit.
		receiving := 0
		for _, o := range s.open {
			if o.started && o.Received() < o.Size {
				receiving++
			}
		}
		if receiving >= s.receiving {
			s.mu.Unlock()
			s.forget(id)
			u.Remove()
			return fmt.Errorf("upload %d: %w", id, ErrTooMany)
		}
		u.started = true
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("upload %d: %w", id, ErrUnknown)
	}
	if err := u.write(payload); err != nil {
		// A refused frame ends the upload even when a sign request owns
		// it; the request then fails as for a discarded upload.
		s.forget(id)
		u.Remove()
		return fmt.Errorf("upload %d: %w", id, err)
	}
	return nil
}

// Pending returns the declared size of upload id when it exists and has
// received nothing yet, for an HTTP upload URL covering it.
func (s *Set) Pending(id uint64) (int64, bool) {
	s.mu.Lock()
	u, ok := s.open[id]
	s.mu.Unlock()
	if !ok || u.Received() != 0 {
		return 0, false
	}
	return u.Size, true
}

// ErrClaimed means a sign request owns the upload.
var ErrClaimed = errors.New("upload belongs to a running sign request")

// Take hands the upload to a sign request, which must Remove it when done.
// It stays in the set so that its remaining frames still arrive, but it
// cannot be taken again or discarded: a discard cannot pull a document
// away mid-request.
func (s *Set) Take(id uint64) (*Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.open[id]
	if !ok {
		return nil, fmt.Errorf("upload %d: %w", id, ErrUnknown)
	}
	if u.claimed {
		return nil, fmt.Errorf("upload %d: %w", id, ErrClaimed)
	}
	u.claimed = true
	u.set = s
	return u, nil
}

// Discard deletes an upload no sign request owns.
func (s *Set) Discard(id uint64) error {
	s.mu.Lock()
	u, ok := s.open[id]
	switch {
	case !ok:
		s.mu.Unlock()
		return fmt.Errorf("upload %d: %w", id, ErrUnknown)
	case u.claimed:
		s.mu.Unlock()
		return fmt.Errorf("upload %d: %w", id, ErrClaimed)
	}
	delete(s.open, id)
	s.mu.Unlock()
	u.Remove()
	return nil
}

// forget drops an upload from the set.
func (s *Set) forget(id uint64) {
	s.mu.Lock()
	delete(s.open, id)
	s.mu.Unlock()
}

// Close deletes every upload of the set.
func (s *Set) Close() {
	s.mu.Lock()
	open := s.open
	s.open = map[uint64]*Upload{}
	s.mu.Unlock()
	for _, u := range open {
		u.Remove()
	}
}

// Upload is one document being received or received.
type Upload struct {
	ID        uint64
	Name      string
	MediaType string
	Size      int64

	store    *Store
	set      *Set // while claimed by a sign request
	claimed  bool // guarded by the set's mutex
	started  bool // bytes have arrived; guarded by the set's mutex
	mu       sync.Mutex
	received int64
	sha      hash.Hash
	sum      []byte
	mem      []byte
	reserved int64
	// spooled is the declared size taken from the spool's quota.
	spooled int64
	file    *os.File
	removed bool
	done    chan struct{}
	err     error
	once    sync.Once
}

func (u *Upload) write(p []byte) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.removed {
		return ErrDiscarded
	}
	if u.received+int64(len(p)) > u.Size {
		return ErrOverflow
	}
	if u.spooled > 0 {
		if u.file == nil {
			f, err := os.CreateTemp(u.store.dir, filePrefix+"*")
			if err != nil {
				return fmt.Errorf("failed to create a spool file: %w", err)
			}
			u.file = f
		}
		if _, err := u.file.Write(p); err != nil {
			return fmt.Errorf("failed to spool: %w", err)
		}
	} else {
		if u.mem == nil {
			u.mem = make([]byte, 0, u.Size)
		}
		u.mem = append(u.mem, p...)
	}
	u.sha.Write(p)
	u.received += int64(len(p))
	if u.received == u.Size {
		u.sum = u.sha.Sum(nil)
		u.finishLocked(nil)
	}
	return nil
}

func (u *Upload) finish(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err == nil && u.sum == nil {
		u.sum = u.sha.Sum(nil)
	}
	u.finishLocked(err)
}

func (u *Upload) finishLocked(err error) {
	u.once.Do(func() {
		u.err = err
		close(u.done)
	})
}

// Received returns how many bytes have arrived.
func (u *Upload) Received() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.received
}

// Done is closed when the upload is complete or discarded.
func (u *Upload) Done() <-chan struct{} { return u.done }

// Err is nil for a complete upload and ErrDiscarded for a discarded one;
// call it after Done is closed.
func (u *Upload) Err() error {
	<-u.done
	return u.err
}

// Wait blocks until the upload is complete, discarded, or ctx ends.
func (u *Upload) Wait(ctx context.Context) error {
	select {
	case <-u.done:
		return u.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Digest returns the document's digest. SHA-256 was computed while the
// bytes arrived; other hashes read the document again.
func (u *Upload) Digest(h crypto.Hash) ([]byte, error) {
	select {
	case <-u.done:
	default:
		return nil, errors.New("upload not complete")
	}
	if u.err != nil {
		return nil, u.err
	}
	if h == crypto.SHA256 {
		return u.sum, nil
	}
	if !h.Available() {
		return nil, fmt.Errorf("hash %v unavailable", h)
	}
	d := h.New()
	if _, err := io.Copy(d, io.NewSectionReader(u, 0, u.Size)); err != nil {
		return nil, err
	}
	return d.Sum(nil), nil
}

// ReadAt implements io.ReaderAt over the received bytes.
func (u *Upload) ReadAt(p []byte, off int64) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.removed {
		return 0, ErrDiscarded
	}
	if u.file != nil {
		return u.file.ReadAt(p, off)
	}
	if off >= int64(len(u.mem)) {
		return 0, io.EOF
	}
	n := copy(p, u.mem[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Remove deletes the upload's bytes and wakes anyone waiting for it.
func (u *Upload) Remove() {
	if u.set != nil {
		u.set.forget(u.ID)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.removed {
		return
	}
	u.removed = true
	if u.file != nil {
		name := u.file.Name()
		u.file.Close()
		os.Remove(name)
		u.file = nil
	}
	if u.reserved > 0 {
		u.store.budget.Add(u.reserved)
		u.reserved = 0
	}
	if u.spooled > 0 {
		u.store.spoolLeft.Add(u.spooled)
		u.spooled = 0
	}
	u.mem = nil
	u.finishLocked(ErrDiscarded)
}
