package pades

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// ErrInvalid wraps every reason a document cannot be signed; its message
// says what the user can do.
var ErrInvalid = errors.New("cannot sign this PDF")

func init() {
	// pdfcpu would otherwise create ~/.config/pdfcpu on first use.
	api.DisableConfigDir()
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// tailSize is how much of the end we search for startxref and %%EOF.
const tailSize = 2048

var startxrefRE = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)

// document is what the update needs to know of the original.
type document struct {
	size      int64
	endsInEOL bool
	prevXref  int64 // offset of the last cross-reference section
	xrefIsStm bool  // the last section is a cross-reference stream
	ctx       *model.Context
}

// read checks that r holds a whole, unencrypted PDF and parses its
// structure with pdfcpu, within limits relative to its size (see limits)
// and for as long as ctx lasts.
func read(ctx context.Context, r io.ReaderAt, size int64) (*document, error) {
	head := make([]byte, min(1024, size))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	if !bytes.Contains(head, []byte("%PDF-")) {
		return nil, problemf(ProblemNotPDF, "the file is not a PDF (no %%PDF- header); send the letter as PDF")
	}
	if size < 64 {
		return nil, problemf(ProblemTruncated, "the file is too small to be a whole PDF: it is truncated")
	}
	tail := make([]byte, min(tailSize, size))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil && err != io.EOF {
		return nil, err
	}
	// Some producers pad files with NUL bytes after %%EOF; viewers ignore
	// them, and so does the search for the last startxref.
	m := startxrefRE.FindSubmatch(bytes.TrimRight(tail, "\x00"))
	if m == nil {
		return nil, problemf(ProblemTruncated, "the file does not end with startxref and %%%%EOF: it is truncated or damaged; export the PDF again")
	}
	prev, err := strconv.ParseInt(string(m[1]), 10, 64)
	if err != nil || prev <= 0 || prev >= size {
		return nil, problemf(ProblemTruncated, "startxref points outside the file: it is truncated or damaged; export the PDF again")
	}
	probe := make([]byte, min(64, size-prev))
	if _, err := r.ReadAt(probe, prev); err != nil && err != io.EOF {
		return nil, err
	}
	d := &document{size: size, prevXref: prev}
	switch {
	case bytes.HasPrefix(probe, []byte("xref")):
	case objHeaderRE.Match(probe):
		d.xrefIsStm = true
	default:
		return nil, problemf(ProblemBrokenXref, "startxref does not point at a cross-reference section: the file is damaged; export the PDF again")
	}
	last := tail[len(tail)-1]
	d.endsInEOL = last == '\n' || last == '\r'

	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	conf.Limits = limits(size)
	if err := precheckXRef(r, size, prev, conf.Limits); err != nil {
		return nil, err
	}
	// pdfcpu refuses header versions it does not know ("%PDF-1.8", written
	// by some producers and opened by every viewer): it reads a view whose
	// header says 2.0, a version it knows and that allows everything a
	// 1.x file holds. The file itself is not changed.
	if i := bytes.Index(head, []byte("%PDF-")); i >= 0 && i+8 <= len(head) && unknownVersion(head[i+5:i+8]) {
		r = &patched{ReaderAt: r, off: int64(i + 5), with: []byte("2.0")}
	}
	br := &budgetReader{ctx: ctx, r: r, left: readBound(size)}
	pctx, err := pdfcpu.ReadWithContext(ctx, io.NewSectionReader(br, 0, size), conf)
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if br.over {
		return nil, problemf(ProblemTooCostly, "the PDF makes the parser read it more than %d times over: it is damaged or built to exhaust the agent; export the PDF again", readPasses)
	}
	if errors.Is(err, pdfcpu.ErrWrongPassword) {
		return nil, problemf(ProblemEncrypted, "the PDF needs a password to open; open it, save a copy without the password and sign that copy")
	}
	if err != nil {
		return nil, problemf(ProblemDamaged, "the PDF structure is damaged (%v); export the PDF again", err)
	}
	if err := pctx.EnsurePageCount(); err != nil {
		return nil, problemf(ProblemDamaged, "the PDF's page tree is damaged (%v); export the PDF again", err)
	}
	if pctx.Read.RepairOffset != 0 {
		return nil, problemf(ProblemBrokenXref, "the PDF's cross-reference table is wrong: viewers open it only by rebuilding it, and a signature cannot be added to it safely; open it in a viewer, save or print it as a new PDF, and sign that")
	}
	if pctx.Root == nil || pctx.Size == nil {
		return nil, problemf(ProblemDamaged, "the PDF has no catalog or trailer size")
	}
	if pctx.PageCount < 1 {
		return nil, problemf(ProblemDamaged, "the PDF has no pages")
	}
	if err := checkContentBombs(ctx, pctx); err != nil {
		return nil, err
	}
	d.ctx = pctx
	return d, nil
}

// unknownVersion reports a header version pdfcpu does not know: 1.8, 1.9.
func unknownVersion(v []byte) bool {
	return v[0] == '1' && v[1] == '.' && (v[2] == '8' || v[2] == '9')
}

// patched reads r with the bytes at off replaced by with.
type patched struct {
	io.ReaderAt
	off  int64
	with []byte
}

func (p *patched) ReadAt(b []byte, off int64) (int, error) {
	n, err := p.ReaderAt.ReadAt(b, off)
	for i := range n {
		if j := off + int64(i) - p.off; j >= 0 && j < int64(len(p.with)) {
			b[i] = p.with[j]
		}
	}
	return n, err
}

// readPasses is how many times over the parser may read a document.
const readPasses = 8

// readBound is how many bytes the parser may read of a document of size
// bytes: a parser that keeps re-reading it is looping on hostile
// structure.
func readBound(size int64) int64 { return readPasses*size + 4<<20 }

// limits bounds pdfcpu's allocations by what a document of size bytes can
// honestly hold: real PDFs take 38 to 20,000 bytes an object (measured
// over the corpus), so one object per 16 bytes beyond a floor is
// generous, and no stream decodes to more than 64 times the file.
func limits(size int64) model.ResourceLimits {
	l := model.DefaultResourceLimits()
	objects := int(min(int64(l.MaxObjectCount), 10_000+size/16))
	l.MaxObjectCount = objects
	l.MaxXRefEntries = objects
	l.MaxObjectStreamCount = objects
	l.MaxDecodeBytes = min(l.MaxDecodeBytes, 4<<20+16*size)
	l.MaxObjectStreamFirst = min(l.MaxObjectStreamFirst, 1<<20+size)
	l.MaxRecursionDepth = 64
	return l
}

// budgetReader stops the parser when its context ends or it has read
// more than left bytes.
type budgetReader struct {
	ctx  context.Context
	r    io.ReaderAt
	mu   sync.Mutex
	left int64
	over bool
}

// errReadBudget ends a parse that read too much.
var errReadBudget = errors.New("read budget exhausted")

func (b *budgetReader) ReadAt(p []byte, off int64) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	b.mu.Lock()
	b.left -= int64(len(p))
	if b.left < 0 {
		b.over = true
	}
	over := b.over
	b.mu.Unlock()
	if over {
		return 0, errReadBudget
	}
	return b.r.ReadAt(p, off)
}
