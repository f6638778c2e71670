//go:build ignore

// gominimal writes the corpus's Go-generated PDFs: go-minimal.pdf (two
// pages, classic cross-reference table) and go-incremental.pdf (the same
// with an earlier incremental update that adds an Info dictionary).
// Run by make-corpus.sh.
package main

import (
	"bytes"
	"fmt"
	"os"
)

func main() {
	var b bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [4 0 R 6 0 R] /Count 2 >>")
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman >>")
	for i := range 2 {
		content := fmt.Sprintf("BT /F1 14 Tf 72 720 Td (Surat Edaran Walikota - halaman %d) Tj ET", i+1)
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.276 841.89] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	id := "<0123456789abcdef0123456789abcdef>"
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /ID [%s %s] >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, id, id, xref)
	must(os.WriteFile("go-minimal.pdf", b.Bytes(), 0o644))

	// An incremental update: a new Info object.
	info := b.Len()
	b.WriteString("8 0 obj\n<< /Title (Surat Edaran) /Producer (tte-agent corpus) >>\nendobj\n")
	xref2 := b.Len()
	fmt.Fprintf(&b, "xref\n8 1\n%010d 00000 n \ntrailer\n<< /Size 9 /Root 1 0 R /Info 8 0 R /Prev %d /ID [%s <fedcba9876543210fedcba9876543210>] >>\nstartxref\n%d\n%%%%EOF\n", info, xref, id, xref2)
	must(os.WriteFile("go-incremental.pdf", b.Bytes(), 0o644))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
