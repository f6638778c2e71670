package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// prune deletes the oldest rotated files while the trail is over
// MaxTotalBytes, each only after a record summarising it — its chain's
// end and the counts a report needs — is in the current file. A file that
// does not read as a clean chain is kept (it is evidence) and logged.
func (l *Log) prune() error {
	if l.o.MaxTotalBytes <= 0 {
		return nil
	}
	for {
		files, err := Files(l.path)
		if err != nil {
			return err
		}
		var total int64
		for _, f := range files {
			if fi, err := os.Lstat(f); err == nil {
				total += fi.Size()
			}
		}
		if total <= l.o.MaxTotalBytes || len(files) < 2 || files[0] == l.path {
			return nil
		}
		oldest := files[0]
		s, err := summarizeFile(oldest)
		if err != nil {
			l.o.Log.Error("an audit file over the size bound was kept: it does not read as a clean chain", "file", oldest, "err", err)
			return nil
		}
		if err := l.appendLocked(Record{Event: EventPruned, Detail: fmt.Sprintf("records %d to %d deleted to keep the trail within %d bytes; their summary is in this record", s.FirstSeq, s.LastSeq, l.o.MaxTotalBytes), Pruned: s}); err != nil {
			return err
		}
		if err := os.Remove(oldest); err != nil {
			return fmt.Errorf("failed to prune the audit trail: %w", err)
		}
	}
}

// summarizeFile reads one trail file into a Summary.
func summarizeFile(path string) (*Summary, error) {
	t := newTally()
	s := &Summary{File: filepath.Base(path)}
	err := scanFile(path, func(r Record, _ string, _ int) error {
		if r.Hash != r.hash() {
			return errors.New("a record's hash does not match")
		}
		if s.FirstSeq == 0 {
			s.FirstSeq, s.From = r.Seq, r.Time
		} else if r.Seq != s.LastSeq+1 || r.Prev != s.LastHash {
			return errors.New("the chain is broken")
		}
		s.LastSeq, s.LastHash, s.To = r.Seq, r.Hash, r.Time
		if r.Pruned != nil {
			// A summary of summaries reaches back to the first record.
			t.addSummary(r.Pruned, r.Pruned.From, r.Pruned.To.Add(1))
			s.FirstSeq, s.From = min(s.FirstSeq, r.Pruned.FirstSeq), minTime(s.From, r.Pruned.From)
		}
		t.add(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.FirstSeq == 0 {
		return nil, errors.New("the file is empty")
	}
	s.Signatures, s.Failures, s.Incidents = t.signatures(), t.failures, t.incidents
	return s, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
