package pades

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

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
// structure with pdfcpu.
func read(r io.ReaderAt, size int64) (*document, error) {
	head := make([]byte, min(1024, size))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	if !bytes.Contains(head, []byte("%PDF-")) {
		return nil, invalid("the file is not a PDF (no %%PDF- header); send the letter as PDF")
	}
	if size < 64 {
		return nil, invalid("the file is too small to be a whole PDF: it is truncated")
	}
	tail := make([]byte, min(tailSize, size))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil && err != io.EOF {
		return nil, err
	}
	m := startxrefRE.FindSubmatch(tail)
	if m == nil {
		return nil, invalid("the file does not end with startxref and %%%%EOF: it is truncated or damaged; export the PDF again")
	}
	prev, err := strconv.ParseInt(string(m[1]), 10, 64)
	if err != nil || prev <= 0 || prev >= size {
		return nil, invalid("startxref points outside the file: it is truncated or damaged; export the PDF again")
	}
	probe := make([]byte, min(64, size-prev))
	if _, err := r.ReadAt(probe, prev); err != nil && err != io.EOF {
		return nil, err
	}
	d := &document{size: size, prevXref: prev}
	switch {
	case bytes.HasPrefix(probe, []byte("xref")):
	case regexp.MustCompile(`^\d+\s+\d+\s+obj`).Match(probe):
		d.xrefIsStm = true
	default:
		return nil, invalid("startxref does not point at a cross-reference section: the file is damaged; export the PDF again")
	}
	last := tail[len(tail)-1]
	d.endsInEOL = last == '\n' || last == '\r'

	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err := api.ReadContext(io.NewSectionReader(r, 0, size), conf)
	if errors.Is(err, pdfcpu.ErrWrongPassword) {
		return nil, invalid("the PDF is encrypted or password-protected; remove the protection and sign again")
	}
	if err != nil {
		return nil, invalid("the PDF structure is damaged (%v); export the PDF again", err)
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, invalid("the PDF's page tree is damaged (%v); export the PDF again", err)
	}
	if ctx.Encrypt != nil || ctx.E != nil {
		return nil, invalid("the PDF is encrypted or password-protected; remove the protection and sign again")
	}
	if ctx.Read.RepairOffset != 0 {
		return nil, invalid("the PDF's cross-reference offsets are wrong (it needed repair); export the PDF again")
	}
	if ctx.Root == nil || ctx.Size == nil {
		return nil, invalid("the PDF has no catalog or trailer size")
	}
	if ctx.PageCount < 1 {
		return nil, invalid("the PDF has no pages")
	}
	d.ctx = ctx
	return d, nil
}
