package audit

import (
	"bytes"
	"encoding/json"
	"errors"
)

// errNotCanonical means a line is JSON but not exactly the bytes the
// agent writes for the record it holds: a duplicate or case-variant member
// ("ORIGIN" beside "origin", which readers resolve differently), an
// unknown member, other spacing or member order.
var errNotCanonical = errors.New("not a record as the agent writes it (unknown, duplicate or reordered members)")

// parseLine reads one line of the trail strictly: it must decode to a
// Record whose encoding is exactly the line.
func parseLine(line []byte) (Record, error) {
	var r Record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, err
	}
	again, err := json.Marshal(r)
	if err != nil || !bytes.Equal(again, line) {
		return r, errNotCanonical
	}
	return r, nil
}
