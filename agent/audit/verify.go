package audit

import (
	"bufio"
	"errors"
	"fmt"
	"os"
)

// Problem is the first inconsistency Verify found.
type Problem struct {
	File string
	Line int
	Seq  uint64
	Why  string
}

func (p *Problem) Error() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Why)
	}
	return fmt.Sprintf("%s line %d (record %d): %s", p.File, p.Line, p.Seq, p.Why)
}

// maxLine bounds one record's line.
const maxLine = 16 << 20

// scanTrail calls each for every record of the trail at path in order,
// with its file and line, and stops at the first line that is not a
// canonical record (a Problem) or the first error each returns.
func scanTrail(path string, each func(r Record, file string, line int) error) (files []string, err error) {
	files, err = Files(path)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := scanFile(f, each); err != nil {
			return files, err
		}
	}
	return files, nil
}

func scanFile(f string, each func(r Record, file string, line int) error) error {
	fh, err := openNoFollow(f, os.O_RDONLY)
	if err != nil {
		return err
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 64<<10)
	for line := 1; ; line++ {
		data, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) && len(data) < maxLine {
			more := append([]byte{}, data...)
			data, err = br.ReadSlice('\n')
			data = append(more, data...)
		}
		if len(data) == 0 && err != nil {
			return nil // end of file
		}
		if err != nil || data[len(data)-1] != '\n' {
			return &Problem{File: f, Line: line, Why: "the last record is cut off (a torn write)"}
		}
		r, perr := parseLine(data[:len(data)-1])
		if perr != nil {
			why := "not a record (damaged line)"
			if errors.Is(perr, errNotCanonical) {
				why = perr.Error()
			}
			return &Problem{File: f, Line: line, Seq: r.Seq, Why: why}
		}
		if err := each(r, f, line); err != nil {
			return err
		}
	}
}

// Verify checks the whole trail at path and returns how many records it
// holds, or the first problem: a line that is not exactly a record as the
// agent writes it, a record edited (its hash does not match), deleted or
// inserted (a gap or repeat in the sequence, or a broken link), reordered,
// a cut-off last record, an empty trail, oldest records missing without a
// summary of them, or a trail that disagrees with its time-stamped anchors
// (a recomputed history, or records deleted from the end).
func Verify(path string) (int, error) {
	var prev string
	var seq uint64
	var first *Record
	var firstFile string
	pruned := map[uint64]*Summary{} // by the last record of the pruned range
	anchors, err := readAnchors(path)
	if err != nil {
		return 0, err
	}
	hashes := map[uint64]string{} // of the anchored records
	for _, a := range anchors {
		hashes[a.Seq] = ""
	}
	n := 0
	files, err := scanTrail(path, func(r Record, f string, line int) error {
		if first == nil {
			first, firstFile = &r, f
			prev, seq = r.Prev, r.Seq-1
		}
		switch {
		case r.Hash != r.hash():
			return &Problem{File: f, Line: line, Seq: r.Seq, Why: "the record was edited: its hash does not match its content"}
		case r.Seq > seq+1:
			return &Problem{File: f, Line: line, Seq: r.Seq, Why: fmt.Sprintf("records %d to %d are missing (deleted)", seq+1, r.Seq-1)}
		case r.Seq != seq+1:
			return &Problem{File: f, Line: line, Seq: r.Seq, Why: fmt.Sprintf("record %d comes after record %d (inserted or reordered)", r.Seq, seq)}
		case r.Prev != prev:
			return &Problem{File: f, Line: line, Seq: r.Seq, Why: "the link to the previous record is broken (a record was replaced, inserted or reordered)"}
		}
		if r.Pruned != nil {
			pruned[r.Pruned.LastSeq] = r.Pruned
		}
		if _, ok := hashes[r.Seq]; ok {
			hashes[r.Seq] = r.Hash
		}
		prev, seq = r.Hash, r.Seq
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	if len(files) == 0 || first == nil {
		return 0, &Problem{File: path, Why: "the trail is empty or missing: an agent that ran always wrote agent_started"}
	}
	if first.Seq != 1 {
		if s, ok := pruned[first.Seq-1]; !ok || s.LastHash != first.Prev || s.FirstSeq != 1 {
			return n, &Problem{File: firstFile, Line: 1, Seq: first.Seq, Why: fmt.Sprintf("records 1 to %d are missing and no summary of them was written when they were pruned (deleted)", first.Seq-1)}
		}
	}
	if err := checkAnchors(path, anchors, seq, hashes, first.Seq); err != nil {
		return n, err
	}
	return n, nil
}
