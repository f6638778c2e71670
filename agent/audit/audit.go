// Package audit keeps tte-agent's audit trail: an append-only JSON-lines
// file (0600) in which every record carries the hash of the one before it,
// so that an edited, deleted, inserted or reordered record is detected.
// Records say who asked for what and what happened — refusals, dialogs
// shown, the user's decisions and results — and never hold a PIN or
// document content. Rotation starts a new file that continues the chain.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Events a record may describe.
const (
	EventRefused  = "refused"       // a connection or request was refused
	EventDialog   = "dialog_shown"  // the consent dialog was shown
	EventDecision = "decision"      // the user consented, cancelled or let it time out
	EventResult   = "result"        // a sign request ended
	EventStart    = "agent_started" // the agent started
	EventStop     = "agent_stopped" // the agent stopped cleanly
	EventIncident = "incident"      // something an administrator must follow up (Outcome says what)
	EventPruned   = "pruned"        // the oldest file was summarised (Pruned) and deleted
)

// Incident outcomes the trail itself records.
const (
	// IncidentTorn: the trail ended in a damaged record (a crash or a
	// full disk cut a write); it was kept aside and the chain goes on.
	IncidentTorn = "audit_damaged"
)

// Item is a signed item as audited: its name and digest, never content.
type Item struct {
	Name   string `json:"name"`
	Digest string `json:"digest,omitempty"` // hex
}

// Record is one line of the trail.
type Record struct {
	Seq         uint64    `json:"seq"`
	Time        time.Time `json:"time"`
	Event       string    `json:"event"`
	Origin      string    `json:"origin,omitempty"`
	Method      string    `json:"method,omitempty"`
	Certificate string    `json:"certificate,omitempty"` // SHA-256 fingerprint, hex
	Subject     string    `json:"subject,omitempty"`
	Items       []Item    `json:"items,omitempty"`
	Count       int       `json:"count,omitempty"`
	Outcome     string    `json:"outcome,omitempty"` // "ok" or a protocol reason
	Detail      string    `json:"detail,omitempty"`
	Pruned      *Summary  `json:"pruned,omitempty"`
	Prev        string    `json:"prev"`
	Hash        string    `json:"hash"`
}

// hash returns the record's hash: SHA-256 of its JSON with Hash empty.
func (r Record) hash() string {
	r.Hash = ""
	data, _ := json.Marshal(r)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Options tune a Log.
type Options struct {
	// OnWrite, if set, is given each record's line (its JSON, without the
	// newline) once it is written: a copy for a central collector. It must
	// not block.
	OnWrite func(line []byte)
	// MaxBytes rotates the file when it grows past this size.
	MaxBytes int64
	// MaxTotalBytes bounds all the trail's files together: the oldest
	// rotated files are summarised into the trail and deleted. Zero keeps
	// everything.
	MaxTotalBytes int64
	// Log hears of what Open repaired; nil discards it.
	Log *slog.Logger
}

// Log appends records to the trail. Its methods are safe for concurrent
// use.
type Log struct {
	mu   sync.Mutex
	path string
	o    Options
	f    *os.File
	size int64
	seq  uint64
	prev string
}

// Open opens (creating 0600, in a 0700 directory, never through a
// symbolic link) the trail at path and continues its chain. A file that
// ends in a damaged record — a write cut by a crash or a full disk — is
// repaired: the damaged bytes are kept aside in path.damaged-TIME, the
// file is cut back to its last whole record, and an incident record says
// so. A file over MaxBytes is rotated first.
func Open(path string, o Options) (*Log, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := checkDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	l := &Log{path: path, o: o}
	torn, err := l.repairTail()
	if err != nil {
		return nil, err
	}
	last, err := lastRecord(path)
	if err != nil {
		return nil, err
	}
	if last == nil {
		// A new file may follow rotated ones: continue their chain.
		files, _ := Files(path)
		for i := len(files) - 1; i >= 0 && last == nil; i-- {
			if files[i] != path {
				if last, err = lastRecord(files[i]); err != nil {
					return nil, err
				}
			}
		}
	}
	if last != nil {
		l.seq, l.prev = last.Seq, last.Hash
	}
	if err := l.openFile(); err != nil {
		return nil, err
	}
	if torn != "" {
		if err := l.Append(Record{Event: EventIncident, Outcome: IncidentTorn, Detail: "the trail ended in a damaged record (a crash or a full disk cut a write); its bytes were kept aside in " + filepath.Base(torn)}); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// repairTail cuts a damaged last record off the current file, keeping its
// bytes in a file of their own, whose path it returns ("" when the file
// was whole).
func (l *Log) repairTail() (string, error) {
	f, err := openNoFollow(l.path, os.O_RDWR)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("failed to open the audit trail: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	// Only the last line can be torn: read back to the newline before it.
	size := fi.Size()
	tail := make([]byte, min(size, maxLine+1))
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil && err != io.EOF {
		return "", err
	}
	end := len(tail) // the end of the whole records in tail
	if end > 0 && tail[end-1] == '\n' {
		start := bytes.LastIndexByte(tail[:end-1], '\n') + 1
		if _, err := parseLine(tail[start : end-1]); err == nil {
			return "", nil
		}
		// A whole line that is not a record: not a torn write, but an
		// edit; verify reports it, and the agent refuses to chain onto it.
		return "", fmt.Errorf("the audit trail %s ends with a line that is not a record; run tte-agent audit verify", l.path)
	}
	end = bytes.LastIndexByte(tail, '\n') + 1
	if end == 0 && int64(len(tail)) < size {
		return "", fmt.Errorf("the audit trail %s ends with a line longer than any record; run tte-agent audit verify", l.path)
	}
	cut := size - int64(len(tail)-end)
	aside := l.path + ".damaged-" + time.Now().UTC().Format("20060102T150405.000000000")
	if err := os.WriteFile(aside, tail[end:], 0o600); err != nil {
		return "", fmt.Errorf("failed to keep the damaged end of the audit trail aside: %w", err)
	}
	if err := f.Truncate(cut); err != nil {
		return "", fmt.Errorf("failed to cut the damaged end off the audit trail: %w", err)
	}
	l.o.Log.Warn("the audit trail ended in a damaged record; it was kept aside and the trail goes on", "kept", aside, "bytes", size-cut)
	return aside, nil
}

func (l *Log) openFile() error {
	f, err := openNoFollow(l.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY)
	if err != nil {
		return fmt.Errorf("failed to open the audit trail: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// lastRecord reads the last record of a trail file, or nil if it is
// empty.
func lastRecord(path string) (*Record, error) {
	f, err := openNoFollow(path, os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the audit trail: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	tail := make([]byte, min(fi.Size(), maxLine+1))
	if _, err := f.ReadAt(tail, fi.Size()-int64(len(tail))); err != nil && err != io.EOF {
		return nil, err
	}
	tail = bytes.TrimRight(tail, "\n")
	if len(tail) == 0 {
		return nil, nil
	}
	r, err := parseLine(tail[bytes.LastIndexByte(tail, '\n')+1:])
	if err != nil {
		return nil, fmt.Errorf("the audit trail %s ends with a damaged record: %w (run tte-agent audit verify)", path, err)
	}
	return &r, nil
}

// Head returns the last record's number and hash.
func (l *Log) Head() (uint64, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, l.prev
}

// Append writes r as the next record, filling in its sequence number,
// time, and chain hashes. The record is written whole or not at all: a
// short write (a full disk) is cut off again and reported.
func (l *Log) Append(r Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appendLocked(r)
}

func (l *Log) appendLocked(r Record) error {
	if l.f == nil {
		return errors.New("audit trail closed")
	}
	if l.o.MaxBytes > 0 && l.size >= l.o.MaxBytes {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	r.Seq = l.seq + 1
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	r.Prev = l.prev
	r.Hash = r.hash()
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	n, err := l.f.Write(append(data, '\n'))
	if err != nil {
		if n > 0 {
			// Take the partial record back, so that the next one starts
			// on a line of its own.
			if terr := l.f.Truncate(l.size); terr != nil {
				return fmt.Errorf("failed to write the audit trail: %w (and to cut the partial record off: %v)", err, terr)
			}
		}
		return fmt.Errorf("failed to write the audit trail: %w", err)
	}
	l.size += int64(n)
	l.seq, l.prev = r.Seq, r.Hash
	if l.o.OnWrite != nil {
		l.o.OnWrite(data)
	}
	return nil
}

// rotate renames the current file with its time and starts a new one; the
// chain continues across files. Then the oldest files go while the trail
// is over MaxTotalBytes, each summarised into the new file first.
func (l *Log) rotate() error {
	if err := l.f.Close(); err != nil {
		return err
	}
	l.f = nil
	rotated := rotatedName(l.path, time.Now().UTC().Format("20060102T150405.000000000"))
	if err := os.Rename(l.path, rotated); err != nil {
		return fmt.Errorf("failed to rotate the audit trail: %w", err)
	}
	if err := l.openFile(); err != nil {
		return err
	}
	return l.prune()
}

// Close closes the trail.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
