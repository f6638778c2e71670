// Package hostile makes PDFs built to exhaust a parser — huge declared
// cross-reference streams, hundreds of thousands of tiny objects, deep and
// cyclic structures, decompression bombs — for tests of the agent's parse
// budget. Every file is generated, small on disk and deterministic.
package hostile

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"hash/adler32"
	"strings"
)

// Case is one hostile document.
type Case struct {
	Name string
	// Build returns the file's bytes.
	Build func() []byte
}

// Cases returns every hostile document, cheapest first.
func Cases() []Case {
	return []Case{
		{"xref-stream-10M-entries", HugeXRefStream},
		{"xref-stream-index-10M", HugeXRefIndex},
		{"tiny-objects-400k", func() []byte { return TinyObjects(400_000) }},
		{"objstm-200k-objects", func() []byte { return ObjectStreamFlood(200_000) }},
		{"nested-arrays-1M", func() []byte { return DeepArrays(1_000_000) }},
		{"cyclic-page-tree", CyclicPageTree},
		{"cyclic-prev-chain", CyclicPrev},
		{"flate-bomb-content-1GiB", func() []byte { return FlateBomb(1 << 30) }},
		{"flate-bomb-objstm", ObjStmBomb},
		{"deep-page-tree-100k", func() []byte { return DeepPageTree(100_000) }},
	}
}

// builder writes objects and a classic cross-reference table.
type builder struct {
	buf     bytes.Buffer
	offsets map[int]int
	max     int
}

func newBuilder() *builder {
	b := &builder{offsets: map[int]int{}}
	b.buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	return b
}

func (b *builder) obj(n int, body string) {
	b.offsets[n] = b.buf.Len()
	b.max = max(b.max, n)
	fmt.Fprintf(&b.buf, "%d 0 obj\n%s\nendobj\n", n, body)
}

func (b *builder) stream(n int, dict string, data []byte) {
	b.offsets[n] = b.buf.Len()
	b.max = max(b.max, n)
	fmt.Fprintf(&b.buf, "%d 0 obj\n<<%s/Length %d>>\nstream\n", n, dict, len(data))
	b.buf.Write(data)
	b.buf.WriteString("\nendstream\nendobj\n")
}

// table finishes the file with a classic xref table and a trailer.
func (b *builder) table(trailer string) []byte {
	at := b.buf.Len()
	fmt.Fprintf(&b.buf, "xref\n0 %d\n0000000000 65535 f\r\n", b.max+1)
	for i := 1; i <= b.max; i++ {
		if off, ok := b.offsets[i]; ok {
			fmt.Fprintf(&b.buf, "%010d 00000 n\r\n", off)
		} else {
			b.buf.WriteString("0000000000 65535 f\r\n")
		}
	}
	fmt.Fprintf(&b.buf, "trailer\n<</Size %d/Root 1 0 R%s>>\nstartxref\n%d\n%%%%EOF\n", b.max+1, trailer, at)
	return b.buf.Bytes()
}

func deflate(data []byte) []byte {
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	w.Write(data)
	w.Close()
	return out.Bytes()
}

// deflateZeros returns a zlib stream of n zero bytes.
func deflateZeros(n int) []byte { return deflateFill(nil, 0, n) }

// deflateFill returns a zlib stream of prefix followed by n fill bytes
// without compressing them all when n is a multiple of 1 MiB of at least
// 2 MiB: after two sync-flushed megabytes every further megabyte
// compresses to the same block, which is repeated; then a final empty
// block and the Adler-32, combined block by block.
func deflateFill(prefix []byte, fill byte, n int) []byte {
	const mb = 1 << 20
	var out bytes.Buffer
	w, _ := zlib.NewWriterLevel(&out, zlib.BestCompression)
	if n%mb != 0 || n < 2*mb {
		w.Write(prefix)
		w.Write(bytes.Repeat([]byte{fill}, n))
		w.Close()
		return out.Bytes()
	}
	chunk := bytes.Repeat([]byte{fill}, mb)
	w.Write(prefix)
	w.Write(chunk)
	w.Flush()
	a := out.Len()
	w.Write(chunk)
	w.Flush()
	steady := append([]byte{}, out.Bytes()[a:]...)
	for range n/mb - 2 {
		out.Write(steady)
	}
	out.Write([]byte{0x03, 0x00}) // a final, empty fixed-Huffman block
	sum := adler32.Checksum(prefix)
	one := adler32.Checksum(chunk)
	for range n / mb {
		sum = adlerCombine(sum, one, mb)
	}
	out.Write([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
	return out.Bytes()
}

// adlerCombine is zlib's adler32_combine: the checksum of A‖B from those
// of A and B and B's length.
func adlerCombine(a1, a2 uint32, len2 int64) uint32 {
	const base = 65521
	rem := uint32(len2 % base)
	sum1 := a1 & 0xffff
	sum2 := (rem * sum1) % base
	sum1 += (a2 & 0xffff) + base - 1
	sum2 += (a1 >> 16) + (a2 >> 16) + base - rem
	if sum1 >= base {
		sum1 -= base
	}
	if sum1 >= base {
		sum1 -= base
	}
	if sum2 >= base<<1 {
		sum2 -= base << 1
	}
	if sum2 >= base {
		sum2 -= base
	}
	return sum2<<16 | sum1
}

// pages writes a catalog (1), a page tree (2) and one page (3).
func (b *builder) pages() {
	b.obj(1, "<</Type/Catalog/Pages 2 0 R>>")
	b.obj(2, "<</Type/Pages/Kids[3 0 R]/Count 1>>")
	b.obj(3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>")
}

// HugeXRefStream is a small file whose cross-reference stream declares
// /Size 10,000,000: ten million entries of zeros that deflate to ~68 KB.
func HugeXRefStream() []byte {
	b := newBuilder()
	b.pages()
	const n = 10_000_000
	at := b.buf.Len()
	data := deflateZeros((n*7 + 1<<20 - 1) / (1 << 20) * (1 << 20)) // at least n rows of 7 bytes
	fmt.Fprintf(&b.buf, "4 0 obj\n<</Type/XRef/Size %d/W[1 4 2]/Root 1 0 R/Filter/FlateDecode/Length %d>>\nstream\n", n, len(data))
	b.buf.Write(data)
	fmt.Fprintf(&b.buf, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", at)
	return b.buf.Bytes()
}

// HugeXRefIndex declares ten million entries through /Index with a tiny
// /Size.
func HugeXRefIndex() []byte {
	b := newBuilder()
	b.pages()
	at := b.buf.Len()
	data := deflateZeros(67 << 20) // at least ten million rows of 7 bytes
	fmt.Fprintf(&b.buf, "4 0 obj\n<</Type/XRef/Size 5/Index[0 5000000 5000000 5000000]/W[1 4 2]/Root 1 0 R/Filter/FlateDecode/Length %d>>\nstream\n", len(data))
	b.buf.Write(data)
	fmt.Fprintf(&b.buf, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", at)
	return b.buf.Bytes()
}

// TinyObjects is a classic file with n tiny objects, each listed in the
// xref table (~40 bytes an object).
func TinyObjects(n int) []byte {
	b := newBuilder()
	b.pages()
	for i := 4; i < n+4; i++ {
		b.obj(i, "0")
	}
	return b.table("")
}

// ObjectStreamFlood packs n tiny objects into object streams that a
// cross-reference stream lists.
func ObjectStreamFlood(n int) []byte {
	b := newBuilder()
	b.pages()
	const per = 10000
	type entry struct{ typ, f2, f3 int }
	entries := map[int]entry{}
	next := 4
	for done := 0; done < n; done += per {
		k := min(per, n-done)
		stm := next
		next++
		var head, body strings.Builder
		for j := range k {
			fmt.Fprintf(&head, "%d %d ", next+j, body.Len())
			body.WriteString("0 ")
			entries[next+j] = entry{2, stm, j}
		}
		data := deflate([]byte(head.String() + body.String()))
		b.stream(stm, fmt.Sprintf("/Type/ObjStm/N %d/First %d/Filter/FlateDecode", k, head.Len()), data)
		entries[stm] = entry{1, b.offsets[stm], 0}
		next += k
	}
	for i := 1; i <= 3; i++ {
		entries[i] = entry{1, b.offsets[i], 0}
	}
	xref := next
	at := b.buf.Len()
	entries[xref] = entry{1, at, 0}
	rows := make([]byte, 0, (xref+1)*7)
	for i := 0; i <= xref; i++ {
		e := entries[i]
		rows = append(rows, byte(e.typ), byte(e.f2>>24), byte(e.f2>>16), byte(e.f2>>8), byte(e.f2), byte(e.f3>>8), byte(e.f3))
	}
	data := deflate(rows)
	fmt.Fprintf(&b.buf, "%d 0 obj\n<</Type/XRef/Size %d/W[1 4 2]/Root 1 0 R/Filter/FlateDecode/Length %d>>\nstream\n", xref, xref+1, len(data))
	b.buf.Write(data)
	fmt.Fprintf(&b.buf, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", at)
	return b.buf.Bytes()
}

// DeepArrays puts depth nested arrays in the page's dictionary.
func DeepArrays(depth int) []byte {
	b := newBuilder()
	b.obj(1, "<</Type/Catalog/Pages 2 0 R>>")
	b.obj(2, "<</Type/Pages/Kids[3 0 R]/Count 1>>")
	b.obj(3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/X "+strings.Repeat("[", depth)+strings.Repeat("]", depth)+">>")
	return b.table("")
}

// CyclicPageTree is a page tree whose node lists itself and its parent
// among its kids.
func CyclicPageTree() []byte {
	b := newBuilder()
	b.obj(1, "<</Type/Catalog/Pages 2 0 R>>")
	b.obj(2, "<</Type/Pages/Kids[4 0 R 3 0 R]/Count 3>>")
	b.obj(3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>")
	b.obj(4, "<</Type/Pages/Parent 2 0 R/Kids[4 0 R 2 0 R]/Count 2>>")
	return b.table("")
}

// CyclicPrev is a file whose cross-reference sections point at each
// other through /Prev.
func CyclicPrev() []byte {
	b := newBuilder()
	b.pages()
	first := b.buf.Len()
	out := b.table("/Prev 0000000000")
	// The only section's /Prev points at itself.
	return bytes.Replace(out, []byte("/Prev 0000000000"), fmt.Appendf(nil, "/Prev %010d", first), 1)
}

// FlateBomb is a page whose content stream inflates to n bytes, deflated
// twice so that the file stays small.
func FlateBomb(n int) []byte {
	b := newBuilder()
	b.obj(1, "<</Type/Catalog/Pages 2 0 R>>")
	b.obj(2, "<</Type/Pages/Kids[3 0 R]/Count 1>>")
	b.obj(3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>")
	b.stream(4, "/Filter[/FlateDecode/FlateDecode]", deflate(deflateZeros(n)))
	return b.table("")
}

// ObjStmBomb is an object stream holding the page tree's root, listed
// by a cross-reference stream, that inflates to 256 MiB of whitespace
// after its one object: every parser must inflate it to read the page
// tree.
func ObjStmBomb() []byte {
	b := newBuilder()
	b.obj(1, "<</Type/Catalog/Pages 2 0 R>>")
	b.obj(3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>")
	head := "2 0 "
	raw := deflateFill([]byte(head+"<</Type/Pages/Kids[3 0 R]/Count 1>>"), ' ', 256<<20)
	b.stream(4, fmt.Sprintf("/Type/ObjStm/N 1/First %d/Filter[/FlateDecode/FlateDecode]", len(head)), deflate(raw))
	at := b.buf.Len()
	row := func(typ, f2, f3 int) []byte {
		return []byte{byte(typ), byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2), byte(f3 >> 8), byte(f3)}
	}
	var rows []byte
	rows = append(rows, row(0, 0, 65535)...)
	rows = append(rows, row(1, b.offsets[1], 0)...)
	rows = append(rows, row(2, 4, 0)...)
	rows = append(rows, row(1, b.offsets[3], 0)...)
	rows = append(rows, row(1, b.offsets[4], 0)...)
	rows = append(rows, row(1, at, 0)...)
	data := deflate(rows)
	fmt.Fprintf(&b.buf, "5 0 obj\n<</Type/XRef/Size 6/W[1 4 2]/Root 1 0 R/Filter/FlateDecode/Length %d>>\nstream\n", len(data))
	b.buf.Write(data)
	fmt.Fprintf(&b.buf, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", at)
	return b.buf.Bytes()
}

// DeepPageTree is a page tree depth levels deep with one page at the
// bottom.
func DeepPageTree(depth int) []byte {
	b := newBuilder()
	b.obj(1, "<</Type/Catalog/Pages 2 0 R>>")
	for i := 0; i < depth; i++ {
		n := 2 + i
		parent := ""
		if i > 0 {
			parent = fmt.Sprintf("/Parent %d 0 R", n-1)
		}
		b.obj(n, fmt.Sprintf("<</Type/Pages%s/Kids[%d 0 R]/Count 1>>", parent, n+1))
	}
	last := 2 + depth
	b.obj(last, fmt.Sprintf("<</Type/Page/Parent %d 0 R/MediaBox[0 0 595 842]>>", last-1))
	return b.table("")
}

// Certified is a one-page document whose certification signature allows
// changes of level p (1: none; 2: form filling and signatures; 3: also
// annotations). Its /Contents is a placeholder: only the structure
// matters to a signer deciding whether it may sign.
func Certified(p int) []byte {
	b := newBuilder()
	b.obj(1, "<</Type/Catalog/Pages 2 0 R/Perms<</DocMDP 4 0 R>>/AcroForm<</Fields[5 0 R]/SigFlags 3>>>>")
	b.obj(2, "<</Type/Pages/Kids[3 0 R]/Count 1>>")
	b.obj(3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Annots[5 0 R]>>")
	b.obj(4, fmt.Sprintf("<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/ByteRange[0 0 0 0]/Contents<00>/Reference[<</Type/SigRef/TransformMethod/DocMDP/TransformParams<</Type/TransformParams/P %d/V/1.2>>>>]>>", p))
	b.obj(5, "<</Type/Annot/Subtype/Widget/FT/Sig/T(Certification)/V 4 0 R/F 132/P 3 0 R/Rect[0 0 0 0]>>")
	return b.table("")
}
