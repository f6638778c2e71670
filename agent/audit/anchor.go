package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/digitorus/timestamp"
)

// Timestamper stamps a SHA-256 digest with an RFC 3161 time-stamping
// authority and returns the DER TimeStampToken (*tsa.Client does).
type Timestamper interface {
	Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error)
}

// Anchor is the chain's head time-stamped by a TSA: a record number and
// its hash, which an attacker who rewrites or cuts the trail cannot move
// back in time. Anchors are JSON lines in path + ".anchors".
type Anchor struct {
	Seq   uint64    `json:"seq"`
	Hash  string    `json:"hash"`
	Time  time.Time `json:"time"`  // the TSA's time
	Token []byte    `json:"token"` // DER TimeStampToken over AnchorDigest
}

// AnchorsPath is where the anchors of the trail at path are kept.
func AnchorsPath(path string) string { return path + ".anchors" }

// AnchorDigest is what the TSA stamps for the head (seq, hash).
func AnchorDigest(seq uint64, hash string) []byte {
	sum := sha256.Sum256([]byte("tte-agent audit anchor\n" + strconv.FormatUint(seq, 10) + "\n" + hash + "\n"))
	return sum[:]
}

// Anchor has ts stamp the trail's current head and appends the anchor
// beside the trail.
func (l *Log) Anchor(ctx context.Context, ts Timestamper) (Anchor, error) {
	seq, hash := l.Head()
	return AnchorHead(ctx, l.path, seq, hash, ts)
}

// AnchorHead stamps (seq, hash), the head of the trail at path, and
// appends the anchor to its anchors file.
func AnchorHead(ctx context.Context, path string, seq uint64, hash string, ts Timestamper) (Anchor, error) {
	if seq == 0 {
		return Anchor{}, errors.New("the audit trail is empty: nothing to anchor")
	}
	tok, err := ts.Stamp(ctx, crypto.SHA256, AnchorDigest(seq, hash))
	if err != nil {
		return Anchor{}, fmt.Errorf("failed to time-stamp the audit trail's head: %w", err)
	}
	t, err := timestamp.Parse(tok)
	if err != nil {
		return Anchor{}, fmt.Errorf("the time-stamp of the audit trail's head: %w", err)
	}
	a := Anchor{Seq: seq, Hash: hash, Time: t.Time.UTC(), Token: tok}
	data, err := json.Marshal(a)
	if err != nil {
		return Anchor{}, err
	}
	f, err := openNoFollow(AnchorsPath(path), os.O_CREATE|os.O_APPEND|os.O_WRONLY)
	if err != nil {
		return Anchor{}, fmt.Errorf("failed to open the audit anchors: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(data, '\n')); err != nil {
		return Anchor{}, fmt.Errorf("failed to write the audit anchors: %w", err)
	}
	return a, nil
}

// readAnchors reads the anchors of the trail at path (none when the file
// does not exist) and checks each token: it must stamp exactly its head.
func readAnchors(path string) ([]Anchor, error) {
	f, err := openNoFollow(AnchorsPath(path), os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Anchor
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var a Anchor
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return nil, &Problem{File: AnchorsPath(path), Line: line, Why: "not an anchor (damaged line)"}
		}
		t, err := timestamp.Parse(a.Token)
		if err != nil || t.HashAlgorithm != crypto.SHA256 || !bytes.Equal(t.HashedMessage, AnchorDigest(a.Seq, a.Hash)) {
			return nil, &Problem{File: AnchorsPath(path), Line: line, Seq: a.Seq, Why: "the anchor's time-stamp does not stamp its record (a forged or edited anchor)"}
		}
		a.Time = t.Time.UTC()
		out = append(out, a)
	}
	return out, sc.Err()
}

// checkAnchors compares the trail (last record seq, the hashes of the
// anchored records, the first record kept) with its anchors.
func checkAnchors(path string, anchors []Anchor, last uint64, hashes map[uint64]string, first uint64) error {
	for _, a := range anchors {
		switch {
		case a.Seq > last:
			return &Problem{File: path, Why: fmt.Sprintf("records %d to %d are missing: the trail ends at record %d, but at %s a time-stamp anchored record %d (records were deleted from the end)",
				last+1, a.Seq, last, a.Time.Format(time.RFC3339), a.Seq)}
		case a.Seq < first:
			continue // pruned after it was anchored
		case hashes[a.Seq] != a.Hash:
			return &Problem{File: path, Seq: a.Seq, Why: fmt.Sprintf("record %d is not the record time-stamped at %s: the history before it was rewritten", a.Seq, a.Time.Format(time.RFC3339))}
		}
	}
	return nil
}

// Head returns the last record's number and hash of the trail at path.
func Head(path string) (uint64, string, error) {
	files, err := Files(path)
	if err != nil {
		return 0, "", err
	}
	for i := len(files) - 1; i >= 0; i-- {
		r, err := lastRecord(files[i])
		if err != nil {
			return 0, "", err
		}
		if r != nil {
			return r.Seq, r.Hash, nil
		}
	}
	return 0, "", errors.New("the audit trail is empty")
}
