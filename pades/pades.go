// Package pades signs PDFs as PAdES baseline signatures (ETSI EN 319
// 142-1): it appends an incremental update holding a signature field, its
// widget (invisible, or visible with text lines), and a signature
// dictionary with SubFilter ETSI.CAdES.detached, the signing time in /M, an
// exact /ByteRange and a /Contents placeholder sized once, so no second
// pass is ever needed. The original bytes are never changed, so earlier
// signatures stay valid. Classic cross-reference tables and cross-reference
// streams (with object streams) are both handled; the update uses the kind
// the file already ends with. The CMS itself comes from package cms.
package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Options describe the signature.
type Options struct {
	// Time goes into /M.
	Time time.Time
	// Reason, Location and ContactInfo go into the signature dictionary
	// when not empty.
	Reason      string
	Location    string
	ContactInfo string
	// Name is the signer's name for /Name (optional).
	Name string
	// Appearance makes the signature visible; nil makes it invisible.
	Appearance *Appearance
	// ContentsSize is how many bytes /Contents reserves for the CMS.
	ContentsSize int
	// Certify makes the signature a certification signature with DocMDP
	// permissions P: 1 no changes, 2 form filling and signing, 3 also
	// annotations. 0 is an approval signature.
	Certify int
	// Field signs the empty signature field of this name (the template's)
	// instead of adding one; the appearance, if any, fills its widget.
	Field string
	// DocTimeStamp makes the update a document time-stamp (PAdES B-LTA:
	// /Type/DocTimeStamp, SubFilter ETSI.RFC3161) whose /Contents is an
	// RFC 3161 TimeStampToken over the digest: no signer, no /M, no
	// appearance.
	DocTimeStamp bool
}

// Update is a prepared incremental update waiting for its CMS.
type Update struct {
	orig     io.ReaderAt
	origSize int64
	// The update is head, then /Contents' hex string of hole bytes
	// between '<' (head's last byte) and '>' (tail's first), then tail:
	// the placeholder's zeros are not kept while a batch waits for its
	// signatures.
	head, tail []byte
	hole       int
}

// Prepare reads the PDF in r and builds the update with a placeholder.
// Errors that the user can act on wrap ErrInvalid. Parsing stops with
// ctx's error soon after ctx ends; its work is bounded relative to size
// (see read).
func Prepare(ctx context.Context, r io.ReaderAt, size int64, o Options) (u *Update, err error) {
	if o.ContentsSize < 1024 || o.ContentsSize > 1<<20 {
		return nil, fmt.Errorf("contents size %d out of range", o.ContentsSize)
	}
	// pdfcpu can panic on hostile structure (seen in FuzzPrepare: a nil
	// page tree in EnsurePageCount); no document may bring the agent down.
	defer func() {
		if p := recover(); p != nil {
			u, err = nil, problemf(ProblemDamaged, "the PDF structure is damaged (the parser failed: %v); export the PDF again", p)
		}
	}()
	d, err := read(ctx, r, size)
	if err != nil {
		return nil, err
	}
	return build(ctx, r, d, o)
}

func build(cctx context.Context, r io.ReaderAt, d *document, o Options) (*Update, error) {
	ctx := d.ctx
	next := *ctx.Size
	alloc := func() int { n := next; next++; return n }
	w, err := newWriter(d)
	if err != nil {
		return nil, err
	}

	pageNr := 1
	if o.DocTimeStamp {
		o.Appearance = nil
	}
	if o.Appearance != nil {
		if err := o.Appearance.Check(); err != nil {
			return nil, err
		}
		switch {
		case o.Appearance.Anchor != "":
			a, err := placeAnchor(cctx, ctx, *o.Appearance)
			if err != nil {
				return nil, err
			}
			o.Appearance = &a
		case o.Appearance.Auto && o.Appearance.Page == 0:
			a := *o.Appearance
			a.Page = ctx.PageCount // signatures close a letter
			o.Appearance = &a
		}
		pageNr = o.Appearance.Page
		if pageNr < 1 || pageNr > ctx.PageCount {
			return nil, invalid("appearance.page %d: the document has %d pages", pageNr, ctx.PageCount)
		}
	}
	pageDict, pageRef, inherited, err := ctx.PageDict(pageNr, false)
	if err != nil || pageDict == nil || pageRef == nil {
		return nil, invalid("cannot read page %d (%v)", pageNr, err)
	}
	catalog, err := ctx.Catalog()
	if err != nil {
		return nil, invalid("cannot read the catalog (%v)", err)
	}
	// Validation data and document time-stamps are allowed whatever the
	// certification says (ISO 32000-2 §12.8.2.2.2).
	if !o.DocTimeStamp {
		if err := checkCertification(ctx, catalog); err != nil {
			return nil, err
		}
		if err := checkPermissions(ctx); err != nil {
			return nil, err
		}
	}
	if o.Certify != 0 {
		if o.Certify < 1 || o.Certify > 3 || o.DocTimeStamp {
			return nil, invalid("certify: P must be 1, 2 or 3")
		}
		if signed(ctx, catalog) {
			return nil, invalid("certify: the document is signed already, and a certification signature must be its first; sign it without certify")
		}
	}
	// A PDF/A document stays one: the appearance embeds its fonts anyway,
	// and images lose their transparency (composited onto white), which
	// PDF/A-1 forbids and PDF/A-2 and -3 allow only with page groups the
	// agent does not add.
	if o.Appearance != nil && pdfaLevel(ctx, catalog) > 0 {
		a := *o.Appearance
		a.Spec.NoTransparency = true
		o.Appearance = &a
	}
	var named *namedField
	if o.Field != "" {
		if named, err = findField(ctx, catalog, o.Field); err != nil {
			return nil, err
		}
	}

	sigNum, fieldNum := alloc(), alloc()
	fieldRef := *types.NewIndirectRef(fieldNum, 0)

	// The signature dictionary, with placeholders for /ByteRange and
	// /Contents.
	var sig strings.Builder
	if o.DocTimeStamp {
		sig.WriteString("<</Type/DocTimeStamp/Filter/Adobe.PPKLite/SubFilter/ETSI.RFC3161")
	} else {
		sig.WriteString("<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached")
		fmt.Fprintf(&sig, "/M%s", literal([]byte(pdfDate(o.Time))))
		for _, kv := range [][2]string{{"Name", o.Name}, {"Reason", o.Reason}, {"Location", o.Location}, {"ContactInfo", o.ContactInfo}} {
			if kv[1] != "" {
				fmt.Fprintf(&sig, "/%s%s", kv[0], textString(kv[1]))
			}
		}
	}
	if o.Certify != 0 {
		fmt.Fprintf(&sig, "/Reference[<</Type/SigRef/TransformMethod/DocMDP/TransformParams<</Type/TransformParams/P %d/V/1.2>>>>]", o.Certify)
	}
	// In an encrypted document every string but /Contents is encrypted
	// (ISO 32000-2 §7.6.2).
	head, err := w.crypt.seal(sigNum, 0, sig.String())
	if err != nil {
		return nil, err
	}
	head += "/ByteRange" + byteRangePlaceholder + "/Contents<"
	w.offsets[sigNum] = w.pos()
	w.gens[sigNum] = 0
	fmt.Fprintf(&w.buf, "%d 0 obj\n%s", sigNum, head)
	brAt := w.buf.Len() - len(byteRangePlaceholder+"/Contents<")
	lt := w.buf.Len() - 1
	w.buf.Write(bytes.Repeat([]byte("0"), 2*o.ContentsSize))
	gt := w.buf.Len()
	w.buf.WriteString(">>>\nendobj\n")

	var newCatalog types.Dict
	if named != nil {
		// A field the template left empty: its widget keeps its place.
		if err := named.fill(ctx, w, sigNum, o.Appearance, alloc); err != nil {
			return nil, err
		}
		if newCatalog, err = addField(ctx, w, catalog, nil, alloc); err != nil {
			return nil, err
		}
	} else if o.Appearance != nil && len(o.Appearance.more) > 0 {
		// Every occurrence of an anchor: one field, a widget at each.
		name, err := fieldName(ctx, catalog)
		if err != nil {
			return nil, err
		}
		if err := everyWidget(ctx, w, *o.Appearance, name, fieldNum, sigNum, alloc); err != nil {
			return nil, err
		}
		if newCatalog, err = addField(ctx, w, catalog, &fieldRef, alloc); err != nil {
			return nil, err
		}
	} else {
		// A new field and its widget, merged in one dictionary.
		rect := "[0 0 0 0]"
		ap := ""
		if o.Appearance != nil {
			a := *o.Appearance // widget places an automatic box per document
			rect, ap, err = a.widget(ctx, pageDict, inherited, w, alloc)
			if err != nil {
				return nil, err
			}
		}
		name, err := fieldName(ctx, catalog)
		if err != nil {
			return nil, err
		}
		w.object(fieldNum, 0, fmt.Sprintf("<</Type/Annot/Subtype/Widget/FT/Sig/T%s/V %d 0 R/F 132/P %s/Rect%s%s>>",
			literal([]byte(name)), sigNum, pageRef.PDFString(), rect, ap))
		// The page lists the widget among its annotations.
		if err := addAnnot(ctx, w, pageDict, pageRef, fieldRef); err != nil {
			return nil, err
		}
		// The AcroForm lists the field and says the document is signed.
		if newCatalog, err = addField(ctx, w, catalog, &fieldRef, alloc); err != nil {
			return nil, err
		}
	}
	if o.Certify != 0 {
		// The catalog's /Perms names the certification signature.
		if newCatalog == nil {
			newCatalog = catalog.Clone().(types.Dict)
		}
		newCatalog["Perms"] = types.Dict{"DocMDP": *types.NewIndirectRef(sigNum, 0)}
	}
	if newCatalog != nil {
		root := *ctx.Root
		w.object(root.ObjectNumber.Value(), root.GenerationNumber.Value(), newCatalog.PDFString())
	}

	buf, err := finishUpdate(ctx, d, w, next)
	if err != nil {
		return nil, err
	}
	total := d.size + int64(len(buf))
	start, end := d.size+int64(lt), d.size+int64(gt)+1
	br := fmt.Sprintf("[0 %d %d %d]", start, end, total-end)
	if len(br) > len(byteRangePlaceholder) {
		return nil, invalid("the document is too large to sign")
	}
	copy(buf[brAt:], br+strings.Repeat(" ", len(byteRangePlaceholder)-len(br)))
	return &Update{orig: r, origSize: d.size, head: bytes.Clone(buf[:lt+1]), tail: bytes.Clone(buf[gt:]), hole: gt - lt - 1}, nil
}

// byteRangePlaceholder is as wide as the widest /ByteRange we write; the
// real one is padded with spaces to the same width.
const byteRangePlaceholder = "[0 0000000000 0000000000 0000000000]"

// Digest hashes everything but /Contents: the original bytes and the
// update around the placeholder.
func (u *Update) Digest(h crypto.Hash) ([]byte, error) {
	d := h.New()
	if _, err := io.Copy(d, io.NewSectionReader(u.orig, 0, u.origSize)); err != nil {
		return nil, fmt.Errorf("failed to read the document: %w", err)
	}
	d.Write(u.head[:len(u.head)-1])
	d.Write(u.tail[1:])
	return d.Sum(nil), nil
}

// Finish puts the DER CMS into /Contents and returns the update, to be
// appended to the original bytes.
func (u *Update) Finish(cms []byte) ([]byte, error) {
	if err := u.Holds(cms); err != nil {
		return nil, err
	}
	out := make([]byte, len(u.head)+u.hole+len(u.tail))
	n := copy(out, u.head)
	n += hex.Encode(out[n:], cms)
	for n < len(u.head)+u.hole {
		out[n] = '0'
		n++
	}
	copy(out[n:], u.tail)
	return out, nil
}

// Holds says whether /Contents has room for cms: Finish fails if not.
func (u *Update) Holds(cms []byte) error {
	if 2*len(cms) > u.hole {
		return fmt.Errorf("the signature (%d bytes) is larger than the space reserved for it (%d bytes)", len(cms), u.hole/2)
	}
	return nil
}

// SignedSize is the size of the signed file.
func (u *Update) SignedSize() int64 {
	return u.origSize + int64(len(u.head)+u.hole+len(u.tail))
}

// fieldName picks "SignatureN" not used by a top-level field.
func fieldName(ctx *model.Context, catalog types.Dict) (string, error) {
	used := map[string]bool{}
	if af, err := ctx.DereferenceDict(catalog["AcroForm"]); err == nil && af != nil {
		if fields, err := ctx.DereferenceArray(af["Fields"]); err == nil {
			for _, f := range fields {
				if fd, err := ctx.DereferenceDict(f); err == nil && fd != nil {
					if t, ok := fd["T"]; ok && t != nil {
						used[t.PDFString()] = true
					}
				}
			}
		}
	}
	for i := 1; ; i++ {
		n := fmt.Sprintf("Signature%d", i)
		if !used[literal([]byte(n))] {
			return n, nil
		}
	}
}

// addAnnot appends the widget to the page's /Annots, rewriting the page
// or, when /Annots is an indirect array, that array.
func addAnnot(ctx *model.Context, w *writer, page types.Dict, pageRef *types.IndirectRef, fields ...types.IndirectRef) error {
	var add types.Array
	for _, f := range fields {
		add = append(add, f)
	}
	switch a := page["Annots"].(type) {
	case types.IndirectRef:
		arr, err := ctx.DereferenceArray(a)
		if err != nil {
			return invalid("cannot read the page's annotations (%v)", err)
		}
		arr = append(cloneArray(arr), add...)
		w.object(a.ObjectNumber.Value(), a.GenerationNumber.Value(), arr.PDFString())
		return nil
	case types.Array:
		p := page.Clone().(types.Dict)
		p["Annots"] = append(cloneArray(a), add...)
		w.object(pageRef.ObjectNumber.Value(), pageRef.GenerationNumber.Value(), p.PDFString())
		return nil
	case nil:
		p := page.Clone().(types.Dict)
		p["Annots"] = add
		w.object(pageRef.ObjectNumber.Value(), pageRef.GenerationNumber.Value(), p.PDFString())
		return nil
	}
	return invalid("the page's /Annots is not an array")
}

// addField appends the field (unless nil: a field already in the form) to
// the AcroForm's /Fields and sets /SigFlags 3 (signatures exist; append
// only), creating the AcroForm if the document has none. It returns the
// catalog to write when the catalog itself must change, else nil.
func addField(ctx *model.Context, w *writer, catalog types.Dict, field *types.IndirectRef, alloc func() int) (types.Dict, error) {
	update := func(af types.Dict) (types.Dict, error) {
		af = af.Clone().(types.Dict)
		af["SigFlags"] = types.Integer(3)
		// With /NeedAppearances true, poppler (Evince, Okular) and Adobe
		// Reader regenerate appearances and do not draw a signature's:
		// the visible signature would not be seen. Signing tools drop
		// the flag (iText does too).
		delete(af, "NeedAppearances")
		if field == nil {
			return af, nil
		}
		switch f := af["Fields"].(type) {
		case types.IndirectRef:
			arr, err := ctx.DereferenceArray(f)
			if err != nil {
				return nil, invalid("cannot read the form fields (%v)", err)
			}
			w.object(f.ObjectNumber.Value(), f.GenerationNumber.Value(), append(cloneArray(arr), *field).PDFString())
		case types.Array:
			af["Fields"] = append(cloneArray(f), *field)
		case nil:
			af["Fields"] = types.Array{*field}
		default:
			return nil, invalid("the form's /Fields is not an array")
		}
		return af, nil
	}
	switch a := catalog["AcroForm"].(type) {
	case types.IndirectRef:
		af, err := ctx.DereferenceDict(a)
		if err != nil || af == nil {
			return nil, invalid("cannot read the form (%v)", err)
		}
		af, err = update(af)
		if err != nil {
			return nil, err
		}
		w.object(a.ObjectNumber.Value(), a.GenerationNumber.Value(), af.PDFString())
		return nil, nil
	case types.Dict:
		af, err := update(a)
		if err != nil {
			return nil, err
		}
		c := catalog.Clone().(types.Dict)
		c["AcroForm"] = af
		return c, nil
	case nil:
		if field == nil {
			return nil, invalid("the document has no form")
		}
		num := alloc()
		w.object(num, 0, fmt.Sprintf("<</Fields[%s]/SigFlags 3>>", field.PDFString()))
		c := catalog.Clone().(types.Dict)
		c["AcroForm"] = *types.NewIndirectRef(num, 0)
		return c, nil
	}
	return nil, invalid("the catalog's /AcroForm is not a dictionary")
}

func cloneArray(a types.Array) types.Array {
	return append(types.Array{}, a...)
}

// trailerEntries returns the update's trailer entries: /Size, /Root,
// /Prev, /Info, and /ID with the first part kept and the second new.
func trailerEntries(ctx *model.Context, size int, prev int64) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "/Size %d/Root %s/Prev %d", size, ctx.Root.PDFString(), prev)
	if ctx.Info != nil {
		fmt.Fprintf(&b, "/Info %s", ctx.Info.PDFString())
	}
	if ctx.Encrypt != nil {
		fmt.Fprintf(&b, "/Encrypt %s", ctx.Encrypt.PDFString())
	}
	fresh := make([]byte, 16)
	if _, err := rand.Read(fresh); err != nil {
		return "", err
	}
	newID := "<" + hex.EncodeToString(fresh) + ">"
	first := newID
	if len(ctx.ID) == 2 && ctx.ID[0] != nil {
		first = ctx.ID[0].PDFString()
	}
	fmt.Fprintf(&b, "/ID[%s%s]", first, newID)
	return b.String(), nil
}
