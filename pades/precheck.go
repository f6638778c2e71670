package pades

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// maxSections bounds the chain of cross-reference sections a document may
// have (one per incremental update).
const maxSections = 256

// maxDictBytes bounds how much is read to find a cross-reference stream's
// dictionary.
const maxDictBytes = 16 << 10

var objHeaderRE = regexp.MustCompile(`^\s*\d+\s+\d+\s+obj`)

// precheckXRef walks the chain of cross-reference sections from the
// last one back through /Prev before pdfcpu sees the file, and refuses a
// chain that loops or is too long, a stream whose declared entries exceed
// what a file of its size can hold, and one whose data inflates to more
// than its declared entries: pdfcpu would inflate it whole, without its
// limits, before checking anything (a 68 KB file can declare 70 MB of
// entries). Of classic tables it checks that each is where the file
// says.
func precheckXRef(r io.ReaderAt, size, at int64, lim model.ResourceLimits) error {
	seen := map[int64]bool{}
	for n := 0; at > 0; n++ {
		if n >= maxSections || seen[at] {
			return problemf(ProblemTooCostly, "the PDF's cross-reference sections loop or are too many (%d): the file is damaged or built to exhaust the agent; export the PDF again", n)
		}
		seen[at] = true
		head := make([]byte, min(maxDictBytes, size-at))
		k, err := r.ReadAt(head, at)
		if err != nil && err != io.EOF {
			return err
		}
		head = head[:k]
		if !objHeaderRE.Match(head) {
			// A classic table: pdfcpu reads it within its limits, but a
			// /Prev that misses its table makes pdfcpu rebuild the
			// table from the whole file (as viewers do), which a
			// signature cannot build on.
			prev, err := classicPrev(r, size, at, head, lim)
			if err != nil || prev == 0 {
				return err
			}
			if at = prev; at >= size {
				return problemf(ProblemBrokenXref, "the PDF's /Prev points outside the file: it is damaged; export the PDF again")
			}
			continue
		}
		stm := bytes.Index(head, []byte("stream"))
		obj := bytes.Index(head, []byte("obj"))
		if stm < 0 || obj < 0 || stm < obj {
			return problemf(ProblemBrokenXref, "the PDF's cross-reference stream at offset %d has no readable dictionary: the file is damaged; export the PDF again", at)
		}
		line := string(head[obj+3 : stm])
		o, err := model.ParseObject(&line)
		d, ok := o.(types.Dict)
		if err != nil || !ok {
			return problemf(ProblemBrokenXref, "the PDF's cross-reference stream at offset %d has no readable dictionary: the file is damaged; export the PDF again", at)
		}
		rows, width, err := xrefShape(d, lim)
		if err != nil {
			return err
		}
		data := at + int64(stm) + int64(len("stream"))
		if err := checkInflated(r, size, data, d, rows*(width+1)+1024); err != nil {
			return err
		}
		prev := d.IntEntry("Prev")
		if prev == nil {
			return nil
		}
		at = int64(*prev)
		if at <= 0 || at >= size {
			return problemf(ProblemBrokenXref, "the PDF's /Prev points outside the file: it is damaged; export the PDF again")
		}
	}
	return nil
}

// classicPrev checks that a classic cross-reference table starts at at
// (head holds its first bytes) and returns its trailer's /Prev, 0 for
// none.
func classicPrev(r io.ReaderAt, size, at int64, head []byte, lim model.ResourceLimits) (int64, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n\f\x00"), []byte("xref")) {
		return 0, problemf(ProblemBrokenXref, "the PDF's cross-reference table is not where the file says (offset %d): viewers open it only by rebuilding the table; save or print it as a new PDF and sign that", at)
	}
	// The trailer follows the entries, 20 bytes each (some producers
	// write 19 or 21).
	end := min(size, at+21*int64(lim.MaxXRefEntries)+maxDictBytes)
	const chunk = 64 << 10
	buf := make([]byte, chunk+len("trailer"))
	for off := at; off < end; off += chunk {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		if err != nil && err != io.EOF {
			return 0, err
		}
		i := bytes.Index(buf[:n], []byte("trailer"))
		if i < 0 {
			continue
		}
		d := make([]byte, min(maxDictBytes, size-off-int64(i)-7))
		k, err := r.ReadAt(d, off+int64(i)+7)
		if err != nil && err != io.EOF {
			return 0, err
		}
		text := string(d[:k])
		if j := strings.Index(text, "startxref"); j >= 0 {
			text = text[:j]
		}
		o, err := model.ParseObject(&text)
		t, ok := o.(types.Dict)
		if err != nil || !ok {
			return 0, problemf(ProblemBrokenXref, "the PDF's trailer at offset %d is not readable: the file is damaged; save or print it as a new PDF and sign that", off+int64(i))
		}
		if p := t.IntEntry("Prev"); p != nil && *p > 0 {
			return int64(*p), nil
		}
		return 0, nil
	}
	return 0, problemf(ProblemBrokenXref, "the PDF's cross-reference table at offset %d has no trailer: the file is damaged; save or print it as a new PDF and sign that", at)
}

// xrefShape returns how many entries a cross-reference stream declares
// (from /Index, else /Size) and the width of one, refusing more entries
// than lim allows.
func xrefShape(d types.Dict, lim model.ResourceLimits) (rows, width int64, err error) {
	tooMany := func(n int64) error {
		return problemf(ProblemTooCostly, "the PDF's cross-reference stream declares %d objects, more than a file of this size can hold (%d): it is damaged or built to exhaust the agent; export the PDF again", n, lim.MaxXRefEntries)
	}
	if s := d.IntEntry("Size"); s != nil {
		if *s < 0 || *s > lim.MaxObjectCount {
			return 0, 0, tooMany(int64(*s))
		}
		rows = int64(*s)
	}
	if idx := d.ArrayEntry("Index"); idx != nil {
		rows = 0
		for i := 1; i < len(idx); i += 2 {
			c, ok := idx[i].(types.Integer)
			if !ok || c < 0 {
				return 0, 0, problemf(ProblemBrokenXref, "the PDF's cross-reference stream has a bad /Index: the file is damaged; export the PDF again")
			}
			rows += int64(c)
			if rows > int64(lim.MaxXRefEntries) {
				return 0, 0, tooMany(rows)
			}
		}
	}
	for _, w := range d.ArrayEntry("W") {
		if v, ok := w.(types.Integer); ok && v >= 0 && v <= 8 {
			width += int64(v)
		} else {
			return 0, 0, problemf(ProblemBrokenXref, "the PDF's cross-reference stream has a bad /W: the file is damaged; export the PDF again")
		}
	}
	return rows, width, nil
}

// checkInflated inflates a FlateDecode stream's data at off up to limit
// bytes and refuses it if it holds more. Other filters are left to
// pdfcpu's limits.
func checkInflated(r io.ReaderAt, size, off int64, d types.Dict, limit int64) error {
	if f := d.NameEntry("Filter"); f == nil || *f != "FlateDecode" {
		return nil
	}
	length := d.IntEntry("Length")
	if length == nil || *length < 0 || off+int64(*length) > size+2 {
		return nil // pdfcpu finds the end and applies its limits
	}
	src := io.NewSectionReader(r, off, min(int64(*length)+2, size-off))
	// Skip the EOL after "stream".
	var b [2]byte
	n, _ := src.ReadAt(b[:], 0)
	skip := int64(0)
	switch {
	case n >= 2 && b[0] == '\r' && b[1] == '\n':
		skip = 2
	case n >= 1 && (b[0] == '\n' || b[0] == '\r'):
		skip = 1
	}
	zr, err := zlib.NewReader(io.NewSectionReader(r, off+skip, int64(*length)))
	if err != nil {
		return nil // pdfcpu reports the damage
	}
	defer zr.Close()
	got, _ := io.Copy(io.Discard, io.LimitReader(zr, limit+1))
	if got > limit {
		return problemf(ProblemTooCostly, "the PDF's cross-reference stream inflates to more than its declared entries (a decompression bomb): the file is damaged or built to exhaust the agent; export the PDF again")
	}
	return nil
}
