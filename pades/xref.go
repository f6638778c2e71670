package pades

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// writer accumulates the objects of an incremental update and their
// absolute offsets in the signed file.
type writer struct {
	buf     bytes.Buffer
	base    int64 // size of the original file
	offsets map[int]int64
	gens    map[int]int
	crypt   *crypt // nil unless the document is encrypted
	err     error  // the first error of object
}

// newWriter starts the update of d; an encrypted document's update is
// encrypted as its objects are.
func newWriter(d *document) (*writer, error) {
	c, err := newCrypt(d.ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{base: d.size, offsets: map[int]int64{}, gens: map[int]int{}, crypt: c}
	if !d.endsInEOL {
		w.buf.WriteByte('\n') // the update must start on a new line
	}
	return w, nil
}

func (w *writer) pos() int64 { return w.base + int64(w.buf.Len()) }

// object writes "num gen obj <body> endobj".
func (w *writer) object(num, gen int, body string) {
	body, err := w.crypt.seal(num, gen, body)
	if err != nil {
		w.err = cmp.Or(w.err, err)
		return
	}
	w.offsets[num] = w.pos()
	w.gens[num] = gen
	fmt.Fprintf(&w.buf, "%d %d obj\n%s\nendobj\n", num, gen, body)
}

// subsections groups sorted object numbers into contiguous runs.
func subsections(nums []int) [][2]int {
	var out [][2]int
	for _, n := range nums {
		if len(out) > 0 && out[len(out)-1][0]+out[len(out)-1][1] == n {
			out[len(out)-1][1]++
			continue
		}
		out = append(out, [2]int{n, 1})
	}
	return out
}

// xrefTable writes a classic cross-reference section and trailer.
func (w *writer) xrefTable(trailer string) {
	start := w.pos()
	nums := sortedKeys(w.offsets)
	w.buf.WriteString("xref\n")
	for _, s := range subsections(nums) {
		fmt.Fprintf(&w.buf, "%d %d\n", s[0], s[1])
		for n := s[0]; n < s[0]+s[1]; n++ {
			fmt.Fprintf(&w.buf, "%010d %05d n\r\n", w.offsets[n], w.gens[n])
		}
	}
	fmt.Fprintf(&w.buf, "trailer\n<<%s>>\nstartxref\n%d\n%%%%EOF\n", trailer, start)
}

// xrefStream writes a cross-reference stream as object num, listing every
// object of the update and itself.
func (w *writer) xrefStream(num int, trailer string) {
	start := w.pos()
	w.offsets[num] = start
	w.gens[num] = 0
	nums := sortedKeys(w.offsets)
	width := 4
	if start > 0xffffffff {
		width = 8
	}
	var data bytes.Buffer
	var index []string
	for _, s := range subsections(nums) {
		index = append(index, fmt.Sprintf("%d %d", s[0], s[1]))
		for n := s[0]; n < s[0]+s[1]; n++ {
			data.WriteByte(1)
			var off [8]byte
			binary.BigEndian.PutUint64(off[:], uint64(w.offsets[n]))
			data.Write(off[8-width:])
			data.Write([]byte{byte(w.gens[n] >> 8), byte(w.gens[n])})
		}
	}
	fmt.Fprintf(&w.buf, "%d 0 obj\n<</Type/XRef/W[1 %d 2]/Index[%s]/Length %d%s>>\nstream\n",
		num, width, strings.Join(index, " "), data.Len(), trailer)
	w.buf.Write(data.Bytes())
	fmt.Fprintf(&w.buf, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", start)
}

func sortedKeys(m map[int]int64) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
