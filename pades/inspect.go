package pades

import (
	"context"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Field is a signature or document time-stamp found in a PDF.
type Field struct {
	// Name is the field's /T; DocTimeStamp tells a document time-stamp
	// (ETSI.RFC3161) from a signature.
	Name         string
	DocTimeStamp bool
	SubFilter    string
	// ByteRange is the signed ranges [off1 len1 off2 len2].
	ByteRange [4]int64
	// Contents is the CMS (or TimeStampToken), without padding.
	Contents []byte
	// Time is /M, zero when absent or unreadable; SignerName is /Name.
	Time       time.Time
	SignerName string
	Reason     string
	// DocMDP is the P of a certification signature, 0 for others.
	DocMDP int
}

// SignedEnd is where the field's signed bytes end: the revision it signs.
func (f Field) SignedEnd() int64 { return f.ByteRange[2] + f.ByteRange[3] }

// Inspection is what a verifier needs of a signed PDF.
type Inspection struct {
	Size   int64
	Fields []Field // sorted by SignedEnd
	// DSS is the document security store's content (VRI left out).
	DSS ValidationData
}

// Inspect reads the PDF in r (bounded as in Prepare) and lists its
// signature fields and its DSS.
func Inspect(ctx context.Context, r io.ReaderAt, size int64) (ins *Inspection, err error) {
	defer func() {
		if p := recover(); p != nil {
			ins, err = nil, problemf(ProblemDamaged, "the PDF structure is damaged (the parser failed: %v)", p)
		}
	}()
	d, err := read(ctx, r, size)
	if err != nil {
		return nil, err
	}
	pctx := d.ctx
	ins = &Inspection{Size: size}
	catalog, err := pctx.Catalog()
	if err != nil {
		return nil, invalid("cannot read the catalog (%v)", err)
	}
	certifier := ""
	if perms, err := pctx.DereferenceDict(catalog["Perms"]); err == nil && perms != nil {
		if ref, ok := perms["DocMDP"].(types.IndirectRef); ok {
			certifier = ref.String()
		}
	}
	seenV := map[string]bool{}
	walkFields(pctx, catalog, func(_ *types.IndirectRef, fd types.Dict, name, ft string) bool {
		v, ok := fd["V"]
		if ft != "Sig" || !ok {
			return len(ins.Fields) < 1000
		}
		// The widgets of one signature (an anchor's every place) carry its
		// value too: one signature, counted once.
		ref, isRef := v.(types.IndirectRef)
		if isRef {
			if seenV[ref.String()] {
				return true
			}
			seenV[ref.String()] = true
		}
		if f, err := readSigDict(pctx, v); err == nil && f != nil {
			f.Name = name
			if isRef && ref.String() == certifier {
				f.DocMDP = docMDP(pctx, v)
			}
			ins.Fields = append(ins.Fields, *f)
		}
		return len(ins.Fields) < 1000
	})
	sort.SliceStable(ins.Fields, func(i, j int) bool { return ins.Fields[i].SignedEnd() < ins.Fields[j].SignedEnd() })
	if dss, err := pctx.DereferenceDict(catalog["DSS"]); err == nil && dss != nil {
		ins.DSS.Certs = streams(pctx, dss["Certs"])
		ins.DSS.OCSPs = streams(pctx, dss["OCSPs"])
		ins.DSS.CRLs = streams(pctx, dss["CRLs"])
	}
	return ins, nil
}

func readSigDict(pctx *model.Context, v types.Object) (*Field, error) {
	sd, err := pctx.DereferenceDict(v)
	if err != nil || sd == nil {
		return nil, err
	}
	f := &Field{}
	if t := sd.NameEntry("Type"); t != nil && *t == "DocTimeStamp" {
		f.DocTimeStamp = true
	}
	if s := sd.NameEntry("SubFilter"); s != nil {
		f.SubFilter = *s
	}
	if f.SubFilter == "ETSI.RFC3161" {
		f.DocTimeStamp = true
	}
	br, err := pctx.DereferenceArray(sd["ByteRange"])
	if err != nil || len(br) != 4 {
		return nil, fmt.Errorf("no /ByteRange")
	}
	for i, o := range br {
		n, ok := o.(types.Integer)
		if !ok || n < 0 {
			return nil, fmt.Errorf("bad /ByteRange")
		}
		f.ByteRange[i] = int64(n)
	}
	c, ok := sd["Contents"]
	if !ok {
		return nil, fmt.Errorf("no /Contents")
	}
	var raw []byte
	switch c := c.(type) {
	case types.HexLiteral:
		raw, _ = c.Bytes()
	case types.StringLiteral:
		raw, _ = types.Unescape(c.Value())
	}
	f.Contents = trimDER(raw)
	if m, err := stringEntry(sd, "M"); err == nil {
		if t, ok := types.DateTime(m, true); ok {
			f.Time = t
		}
	}
	f.SignerName, _ = stringEntry(sd, "Name")
	f.Reason, _ = stringEntry(sd, "Reason")
	return f, nil
}

func stringEntry(d types.Dict, key string) (string, error) {
	o, ok := d[key]
	if !ok {
		return "", fmt.Errorf("no /%s", key)
	}
	s, err := types.StringOrHexLiteral(o)
	if err != nil || s == nil {
		return "", fmt.Errorf("/%s is not a string", key)
	}
	return *s, nil
}

// trimDER cuts the zero padding after a DER value.
func trimDER(b []byte) []byte {
	var rv asn1.RawValue
	if rest, err := asn1.Unmarshal(b, &rv); err == nil {
		return b[:len(b)-len(rest)]
	}
	return b
}

func docMDP(pctx *model.Context, v types.Object) int {
	sd, err := pctx.DereferenceDict(v)
	if err != nil || sd == nil {
		return 0
	}
	refs, _ := pctx.DereferenceArray(sd["Reference"])
	for _, ref := range refs {
		r, err := pctx.DereferenceDict(ref)
		if err != nil || r == nil {
			continue
		}
		if m := r.NameEntry("TransformMethod"); m == nil || *m != "DocMDP" {
			continue
		}
		params, _ := pctx.DereferenceDict(r["TransformParams"])
		if params != nil {
			if p := params.IntEntry("P"); p != nil {
				return *p
			}
		}
		return 2 // the default P
	}
	return 0
}

func streams(pctx *model.Context, o types.Object) [][]byte {
	arr, err := pctx.DereferenceArray(o)
	if err != nil {
		return nil
	}
	var out [][]byte
	for _, e := range arr {
		sd, _, err := pctx.DereferenceStreamDict(e)
		if err != nil || sd == nil {
			continue
		}
		if err := sd.Decode(); err != nil {
			continue
		}
		out = append(out, sd.Content)
	}
	return out
}

// Changes lists what the file in r changes, after the revision that ends
// at end, beyond what later signatures may add (signature fields and their
// widgets, the form, validation data, document time-stamps) when annots
// is false; with annots true (DocMDP P 3) added annotations are allowed too.
// Each entry names a change in English.
func Changes(ctx context.Context, r io.ReaderAt, size, end int64, annots bool) (changes []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			changes, err = nil, problemf(ProblemDamaged, "the PDF structure is damaged (the parser failed: %v)", p)
		}
	}()
	if end >= size {
		return nil, nil
	}
	before, err := read(ctx, io.NewSectionReader(r, 0, end), end)
	if err != nil {
		return nil, fmt.Errorf("the signed revision: %w", err)
	}
	after, err := read(ctx, r, size)
	if err != nil {
		return nil, err
	}
	b, a := before.ctx, after.ctx
	if b.PageCount != a.PageCount {
		changes = append(changes, fmt.Sprintf("the page count changed from %d to %d", b.PageCount, a.PageCount))
		return changes, nil
	}
	bc, _ := b.Catalog()
	ac, _ := a.Catalog()
	for _, k := range catalogKeys(bc, ac) {
		switch k {
		case "AcroForm", "DSS", "Perms", "Extensions", "Metadata":
			continue
		}
		if render(b, bc[k]) != render(a, ac[k]) {
			changes = append(changes, fmt.Sprintf("the document catalog's /%s changed", k))
		}
	}
	for page := 1; page <= b.PageCount; page++ {
		bp, _, _, err1 := b.PageDict(page, false)
		ap, _, _, err2 := a.PageDict(page, false)
		if err1 != nil || err2 != nil || bp == nil || ap == nil {
			changes = append(changes, fmt.Sprintf("page %d cannot be compared", page))
			continue
		}
		if contentHash(b, bp) != contentHash(a, ap) {
			changes = append(changes, fmt.Sprintf("page %d's content changed", page))
		}
		for _, k := range []string{"MediaBox", "CropBox", "Rotate", "Resources"} {
			if render(b, bp[k]) != render(a, ap[k]) {
				changes = append(changes, fmt.Sprintf("page %d's /%s changed", page, k))
			}
		}
		old := annotSet(b, bp)
		for ref, o := range annotSet(a, ap) {
			if _, ok := old[ref]; ok {
				continue
			}
			if annots || isSigWidget(a, o) {
				continue
			}
			changes = append(changes, fmt.Sprintf("an annotation was added on page %d", page))
		}
		now := annotSet(a, ap)
		for ref := range old {
			if _, ok := now[ref]; !ok {
				changes = append(changes, fmt.Sprintf("an annotation was removed from page %d", page))
			}
		}
	}
	slices.Sort(changes)
	return slices.Compact(changes), nil
}

func catalogKeys(a, b types.Dict) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// render is an object's PDF text, dereferenced one level, to compare.
func render(pctx *model.Context, o types.Object) string {
	if o == nil {
		return ""
	}
	if d, err := pctx.Dereference(o); err == nil && d != nil {
		return d.PDFString()
	}
	return o.PDFString()
}

func contentHash(pctx *model.Context, page types.Dict) [32]byte {
	h := sha256.New()
	var list []types.Object
	switch c := page["Contents"].(type) {
	case types.IndirectRef:
		if arr, err := pctx.DereferenceArray(c); err == nil && arr != nil {
			list = arr
		} else {
			list = []types.Object{c}
		}
	case types.Array:
		list = c
	}
	for _, o := range list {
		if sd, _, err := pctx.DereferenceStreamDict(o); err == nil && sd != nil {
			h.Write(sd.Raw)
		}
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func annotSet(pctx *model.Context, page types.Dict) map[string]types.Object {
	out := map[string]types.Object{}
	arr, err := pctx.DereferenceArray(page["Annots"])
	if err != nil {
		return out
	}
	for i, o := range arr {
		key := fmt.Sprintf("direct-%d", i)
		if ref, ok := o.(types.IndirectRef); ok {
			key = ref.String()
		}
		out[key] = o
	}
	return out
}

func isSigWidget(pctx *model.Context, o types.Object) bool {
	d, err := pctx.DereferenceDict(o)
	if err != nil || d == nil {
		return false
	}
	if st := d.NameEntry("Subtype"); st == nil || *st != "Widget" {
		return false
	}
	for range 8 {
		if ft := d.NameEntry("FT"); ft != nil {
			return *ft == "Sig"
		}
		parent, err := pctx.DereferenceDict(d["Parent"])
		if err != nil || parent == nil {
			return false
		}
		d = parent
	}
	return false
}
