package agent

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"io"
	"time"

	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/protocol"
)

// concatReader reads parts as one file.
type concatReader struct {
	parts []io.ReaderAt
	sizes []int64
}

func newConcat(first io.ReaderAt, size int64, more ...[]byte) (*concatReader, int64) {
	c := &concatReader{parts: []io.ReaderAt{first}, sizes: []int64{size}}
	total := size
	for _, m := range more {
		c.parts = append(c.parts, bytes.NewReader(m))
		c.sizes = append(c.sizes, int64(len(m)))
		total += int64(len(m))
	}
	return c, total
}

func (c *concatReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for i, part := range c.parts {
		if off >= c.sizes[i] {
			off -= c.sizes[i]
			continue
		}
		for len(p) > 0 && off < c.sizes[i] {
			k, err := part.ReadAt(p[:min(int64(len(p)), c.sizes[i]-off)], off)
			n += k
			p, off = p[k:], off+int64(k)
			if err != nil && err != io.EOF {
				return n, err
			}
			if k == 0 {
				return n, io.ErrUnexpectedEOF
			}
		}
		if len(p) == 0 {
			return n, nil
		}
		off = 0
	}
	return n, io.EOF
}

// vriFor is the DSS content for signatures sigs, with one VRI each when
// withVRI.
func vriFor(d *ltData, withVRI bool, sigs ...[]byte) pades.ValidationData {
	vd := pades.ValidationData{Certs: d.certs, OCSPs: d.ocsps, CRLs: d.crls}
	if !withVRI {
		return vd
	}
	for _, s := range sigs {
		vd.VRI = append(vd.VRI, pades.VRI{Signature: s, Certs: d.certs, OCSPs: d.ocsps, CRLs: d.crls})
	}
	return vd
}

// longTerm extends signed PDFs: base[i] (its size sizes[i]) followed by
// updates[i] gets a DSS update with lt[i] (nil: none) and, when lta, a
// document time-stamp update. It returns the extended updates (the given
// ones with the new ones appended). Parses run under the parse budget on
// every core; time-stamps stampParallel at a time.
func (a *Agent) longTerm(ctx context.Context, base []io.ReaderAt, sizes []int64, updates [][]byte, lt []*pades.ValidationData, lta bool, h crypto.Hash, prog *progress) ([][]byte, error) {
	n := len(base)
	out := make([][]byte, n)
	dts := make([]*pades.Update, n)
	digests := make([][]byte, n)
	err := parallel(ctx, n, func(i int) error {
		cur := append([]byte(nil), updates[i]...)
		if lt[i] != nil {
			r, size := newConcat(base[i], sizes[i], cur)
			var upd []byte
			err := a.parses.Run(ctx, size, func(ctx context.Context) error {
				var err error
				upd, err = pades.AddDSS(ctx, r, size, *lt[i])
				return err
			})
			if err != nil {
				return pdfError(err, i, fmt.Sprintf("document %d", i))
			}
			cur = append(cur, upd...)
		}
		if lta {
			r, size := newConcat(base[i], sizes[i], cur)
			err := a.parses.Run(ctx, size, func(ctx context.Context) error {
				var err error
				dts[i], err = pades.Prepare(ctx, r, size, pades.Options{DocTimeStamp: true, Time: time.Now(), ContentsSize: timestampAllowance})
				return err
			})
			if err != nil {
				return pdfError(err, i, fmt.Sprintf("document %d", i))
			}
			if digests[i], err = dts[i].Digest(h); err != nil {
				return err
			}
		}
		out[i] = cur
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, a.contextError(ctx, err, 0)
		}
		return nil, err
	}
	if !lta {
		return out, nil
	}
	prog.stage(protocol.StageTimestamping)
	err = a.stampAll(ctx, n, h, func(i int) []byte { return digests[i] }, func(i int, tok []byte) {
		upd, ferr := dts[i].Finish(tok)
		if ferr == nil {
			out[i] = append(out[i], upd...)
		} else {
			out[i] = nil
		}
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i] == nil {
			return nil, fmt.Errorf("the document time-stamp of item %d is larger than the space reserved for it", i)
		}
	}
	return out, nil
}
