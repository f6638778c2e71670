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

// addDSS appends to cur (updates over base) a DSS update with vd.
func (a *Agent) addDSS(ctx context.Context, i int, base io.ReaderAt, size int64, cur []byte, vd pades.ValidationData) ([]byte, error) {
	r, total := newConcat(base, size, cur)
	var upd []byte
	err := a.parses.Run(ctx, total, func(ctx context.Context) error {
		var err error
		upd, err = pades.AddDSS(ctx, r, total, vd)
		return err
	})
	if err != nil {
		return nil, pdfError(err, i, fmt.Sprintf("document %d", i))
	}
	return append(cur, upd...), nil
}

// prepareDocTimestamp prepares a document time-stamp update over base
// followed by cur, and returns it with its digest.
func (a *Agent) prepareDocTimestamp(ctx context.Context, i int, base io.ReaderAt, size int64, cur []byte, h crypto.Hash) (*pades.Update, []byte, error) {
	r, total := newConcat(base, size, cur)
	var dts *pades.Update
	err := a.parses.Run(ctx, total, func(ctx context.Context) error {
		var err error
		dts, err = pades.Prepare(ctx, r, total, pades.Options{DocTimeStamp: true, Time: time.Now(), ContentsSize: timestampAllowance})
		return err
	})
	if err != nil {
		return nil, nil, pdfError(err, i, fmt.Sprintf("document %d", i))
	}
	digest, err := dts.Digest(h)
	return dts, digest, err
}

// errStampTooLarge means a document time-stamp did not fit its space.
func errStampTooLarge(i int) error {
	return fmt.Errorf("the document time-stamp of item %d is larger than the space reserved for it", i)
}

// extendOne extends one signed PDF (base followed by cur) as longTerm
// does, time-stamping it at once: the follower's step for sign.pdf.
func (a *Agent) extendOne(ctx context.Context, i int, base io.ReaderAt, size int64, cur []byte, vd *pades.ValidationData, lta bool, h crypto.Hash) ([]byte, error) {
	cur = append([]byte(nil), cur...)
	var err error
	if vd != nil {
		if cur, err = a.addDSS(ctx, i, base, size, cur, *vd); err != nil {
			return nil, err
		}
	}
	if !lta {
		return cur, nil
	}
	dts, digest, err := a.prepareDocTimestamp(ctx, i, base, size, cur, h)
	if err != nil {
		return nil, err
	}
	tok, err := a.tsa.Stamp(ctx, h, digest)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, a.tsaFailed(err)
	}
	upd, err := dts.Finish(tok)
	if err != nil {
		return nil, errStampTooLarge(i)
	}
	return append(cur, upd...), nil
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
		var err error
		if lt[i] != nil {
			if cur, err = a.addDSS(ctx, i, base[i], sizes[i], cur, *lt[i]); err != nil {
				return err
			}
		}
		if lta {
			if dts[i], digests[i], err = a.prepareDocTimestamp(ctx, i, base[i], sizes[i], cur, h); err != nil {
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
			return nil, errStampTooLarge(i)
		}
	}
	return out, nil
}
