package pades

import (
	"bytes"
	"compress/zlib"
	"context"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// maxContentBytes bounds what one page content stream may inflate to.
// Real pages hold kilobytes to a few megabytes of drawing operators.
const maxContentBytes = 64 << 20

// checkContentBombs inflates every page's Flate-encoded content streams,
// counting and discarding, and refuses a page whose content inflates past
// maxContentBytes: such a decompression bomb costs the agent nothing (it
// never renders), but it would hang or crash whoever opens the signed
// letter, and the agent does not put its user's signature on that.
// Inflating stops when ctx ends.
func checkContentBombs(ctx context.Context, pctx *model.Context) error {
	for page := 1; page <= pctx.PageCount; page++ {
		d, _, _, err := pctx.PageDict(page, false)
		if err != nil || d == nil {
			continue // the signer reads only the page it signs on
		}
		var streams []types.Object
		switch c := d["Contents"].(type) {
		case types.IndirectRef:
			if arr, err := pctx.DereferenceArray(c); err == nil && arr != nil {
				streams = arr
			} else {
				streams = []types.Object{c}
			}
		case types.Array:
			streams = c
		}
		for _, o := range streams {
			sd, _, err := pctx.DereferenceStreamDict(o)
			if err != nil || sd == nil {
				continue
			}
			n, err := inflatedSize(ctx, sd, maxContentBytes)
			if err != nil {
				return err
			}
			if n > maxContentBytes {
				return problemf(ProblemTooCostly, "page %d's content inflates to more than %d MiB (a decompression bomb): whoever opens the signed letter would hang; export or print the PDF again", page, maxContentBytes>>20)
			}
		}
	}
	return nil
}

// inflatedSize returns how many bytes sd's content inflates to, counting
// at most limit+1; streams with filters other than FlateDecode count as
// their raw size.
func inflatedSize(ctx context.Context, sd *types.StreamDict, limit int64) (int64, error) {
	if len(sd.FilterPipeline) == 0 {
		return int64(len(sd.Raw)), nil
	}
	var r io.Reader = bytes.NewReader(sd.Raw)
	for _, f := range sd.FilterPipeline {
		if f.Name != "FlateDecode" || f.DecodeParms != nil {
			return int64(len(sd.Raw)), nil
		}
		zr, err := zlib.NewReader(r)
		if err != nil {
			return 0, nil // damaged content is the viewer's concern
		}
		r = zr
	}
	n, err := io.Copy(io.Discard, io.LimitReader(ctxReader{ctx, r}, limit+1))
	if ctx.Err() != nil {
		return n, context.Cause(ctx)
	}
	_ = err // a damaged stream is the viewer's concern; only its size counts
	return n, nil
}

// ctxReader stops reading when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
