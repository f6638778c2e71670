// Package audit keeps tte-agent's audit trail: an append-only JSON-lines
// file (0600) in which every record carries the hash of the one before it,
// so that an edited, deleted, inserted or reordered record is detected.
// Records say who asked for what and what happened — refusals, dialogs
// shown, the user's decisions and results — and never hold a PIN or
// document content. Rotation starts a new file that continues the chain.
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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

// Log appends records to the trail. Its methods are safe for concurrent
// use.
type Log struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	f        *os.File
	size     int64
	seq      uint64
	prev     string
}

// Open opens (creating 0600, in a 0700 directory) the trail at path and
// continues its chain. A file over maxBytes is rotated first.
func Open(path string, maxBytes int64) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("failed to create the audit directory: %w", err)
	}
	l := &Log{path: path, maxBytes: maxBytes}
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
	return l, nil
}

func (l *Log) openFile() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
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

// lastRecord reads the last line of a trail file, or nil if it is empty.
func lastRecord(path string) (*Record, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the audit trail: %w", err)
	}
	data = bytes.TrimRight(data, "\n")
	if len(data) == 0 {
		return nil, nil
	}
	line := data[bytes.LastIndexByte(data, '\n')+1:]
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, fmt.Errorf("the audit trail %s ends with a damaged record: %w (run tte-agent audit verify)", path, err)
	}
	return &r, nil
}

// Append writes r as the next record, filling in its sequence number,
// time, and chain hashes.
func (l *Log) Append(r Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit trail closed")
	}
	if l.maxBytes > 0 && l.size >= l.maxBytes {
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
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("failed to write the audit trail: %w", err)
	}
	l.seq, l.prev = r.Seq, r.Hash
	return nil
}

// rotate renames the current file with its first-record time and starts a
// new one; the chain continues across files.
func (l *Log) rotate() error {
	if err := l.f.Close(); err != nil {
		return err
	}
	rotated := fmt.Sprintf("%s.%s", l.path, time.Now().UTC().Format("20060102T150405.000000000"))
	if err := os.Rename(l.path, rotated); err != nil {
		return fmt.Errorf("failed to rotate the audit trail: %w", err)
	}
	return l.openFile()
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

// Files returns the trail's files, oldest first: rotated files (named
// path.TIME) then path itself.
func Files(path string) ([]string, error) {
	rotated, err := filepath.Glob(path + ".*")
	if err != nil {
		return nil, err
	}
	out := append([]string{}, rotated...) // Glob sorts; TIME sorts by time
	if _, err := os.Stat(path); err == nil {
		out = append(out, path)
	}
	return out, nil
}

// Problem is the first inconsistency Verify found.
type Problem struct {
	File string
	Line int
	Seq  uint64
	Why  string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%s line %d (record %d): %s", p.File, p.Line, p.Seq, p.Why)
}

// Verify checks the whole chain of the trail at path and returns how many
// records it holds, or the first problem: a record edited (its hash does
// not match), deleted or inserted (a gap or repeat in the sequence, or a
// broken link), or reordered.
func Verify(path string) (int, error) {
	files, err := Files(path)
	if err != nil {
		return 0, err
	}
	var prev string
	var seq uint64
	n := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return n, err
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		line := 0
		for sc.Scan() {
			line++
			var r Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				fh.Close()
				return n, &Problem{File: f, Line: line, Seq: seq + 1, Why: "not a record (damaged line)"}
			}
			switch {
			case r.Hash != r.hash():
				fh.Close()
				return n, &Problem{File: f, Line: line, Seq: r.Seq, Why: "the record was edited: its hash does not match its content"}
			case r.Seq != seq+1 && r.Seq > seq+1:
				fh.Close()
				return n, &Problem{File: f, Line: line, Seq: r.Seq, Why: fmt.Sprintf("records %d to %d are missing (deleted)", seq+1, r.Seq-1)}
			case r.Seq != seq+1:
				fh.Close()
				return n, &Problem{File: f, Line: line, Seq: r.Seq, Why: fmt.Sprintf("record %d comes after record %d (inserted or reordered)", r.Seq, seq)}
			case r.Prev != prev:
				fh.Close()
				return n, &Problem{File: f, Line: line, Seq: r.Seq, Why: "the link to the previous record is broken (a record was replaced, inserted or reordered)"}
			}
			prev, seq = r.Hash, r.Seq
			n++
		}
		err = sc.Err()
		fh.Close()
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
