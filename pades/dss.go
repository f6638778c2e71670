package pades

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// ValidationData is what a document security store (ETSI EN 319 142-1
// §5.4, PAdES B-LT) holds: certificates, OCSP answers and CRLs, all DER.
type ValidationData struct {
	Certs, OCSPs, CRLs [][]byte
	// VRI lists, per signature, the subset that validates it; empty
	// writes no /VRI.
	VRI []VRI
}

// VRI is the validation data of one signature.
type VRI struct {
	// Signature is the signature's CMS, the value of its /Contents
	// without padding.
	Signature          []byte
	Certs, OCSPs, CRLs [][]byte
}

// VRIKey is the /VRI key of a signature: the uppercase hex SHA-1 of its
// CMS.
func VRIKey(cms []byte) string {
	h := sha1.Sum(cms)
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

// AddDSS reads the (signed) PDF in r and returns an incremental update
// that adds vd to its document security store, keeping what the store
// already holds. Parsing is bounded as in Prepare.
func AddDSS(ctx context.Context, r io.ReaderAt, size int64, vd ValidationData) (update []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			update, err = nil, problemf(ProblemDamaged, "the PDF structure is damaged (the parser failed: %v); export the PDF again", p)
		}
	}()
	d, err := read(ctx, r, size)
	if err != nil {
		return nil, err
	}
	pctx := d.ctx
	next := *pctx.Size
	alloc := func() int { n := next; next++; return n }
	w, err := newWriter(d)
	if err != nil {
		return nil, err
	}
	catalog, err := pctx.Catalog()
	if err != nil {
		return nil, invalid("cannot read the catalog (%v)", err)
	}

	// One stream per distinct blob, shared by the store and its VRIs.
	refs := map[[32]byte]types.IndirectRef{}
	stream := func(b []byte) types.IndirectRef {
		k := sha256.Sum256(b)
		if ref, ok := refs[k]; ok {
			return ref
		}
		n := alloc()
		w.object(n, 0, fmt.Sprintf("<</Length %d>>stream\n%s\nendstream", len(b), b))
		ref := *types.NewIndirectRef(n, 0)
		refs[k] = ref
		return ref
	}
	arrays := func(blobs [][]byte) types.Array {
		var a types.Array
		for _, b := range blobs {
			ref := stream(b)
			dup := false
			for _, o := range a {
				if o.(types.IndirectRef) == ref {
					dup = true
				}
			}
			if !dup {
				a = append(a, ref)
			}
		}
		return a
	}

	dss := types.Dict{"Type": types.Name("DSS")}
	old, _ := pctx.DereferenceDict(catalog["DSS"])
	for _, k := range []struct {
		key   string
		blobs [][]byte
	}{{"Certs", vd.Certs}, {"OCSPs", vd.OCSPs}, {"CRLs", vd.CRLs}} {
		var a types.Array
		if old != nil {
			if prev, err := pctx.DereferenceArray(old[k.key]); err == nil {
				a = append(a, prev...)
			}
		}
		a = append(a, arrays(k.blobs)...)
		if len(a) > 0 {
			dss[k.key] = a
		}
	}
	vri := types.Dict{}
	if old != nil {
		if prev, err := pctx.DereferenceDict(old["VRI"]); err == nil && prev != nil {
			for k, v := range prev {
				vri[k] = v
			}
		}
	}
	for _, v := range vd.VRI {
		e := types.Dict{}
		for _, k := range []struct {
			key   string
			blobs [][]byte
		}{{"Cert", v.Certs}, {"OCSP", v.OCSPs}, {"CRL", v.CRLs}} {
			if a := arrays(k.blobs); len(a) > 0 {
				e[k.key] = a
			}
		}
		vri[VRIKey(v.Signature)] = e
	}
	if len(vri) > 0 {
		dss["VRI"] = vri
	}
	dssNum := alloc()
	w.object(dssNum, 0, dss.PDFString())

	c := catalog.Clone().(types.Dict)
	c["DSS"] = *types.NewIndirectRef(dssNum, 0)
	root := *pctx.Root
	w.object(root.ObjectNumber.Value(), root.GenerationNumber.Value(), c.PDFString())
	return finishUpdate(pctx, d, w, next)
}

// finishUpdate writes the cross-reference section (of the kind the file
// ends with) and trailer of an update.
// next is the first unused object number; a cross-reference stream takes
// it, since the stream lists itself and counts in /Size.
func finishUpdate(pctx *model.Context, d *document, w *writer, next int) ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	xrefNum := 0
	if d.xrefIsStm {
		xrefNum = next
		next++
	}
	trailer, err := trailerEntries(pctx, next, d.prevXref)
	if err != nil {
		return nil, err
	}
	if d.xrefIsStm {
		w.xrefStream(xrefNum, trailer)
	} else {
		w.xrefTable(trailer)
	}
	return w.buf.Bytes(), nil
}
