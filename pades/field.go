package pades

import (
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/tte-agent/tte-agent/appearance"
)

// signed reports whether any signature field of the form holds a value.
func signed(ctx *model.Context, catalog types.Dict) bool {
	found := false
	walkFields(ctx, catalog, func(ref *types.IndirectRef, d types.Dict, name, ft string) bool {
		if ft == "Sig" && d["V"] != nil {
			found = true
			return false
		}
		return true
	})
	return found
}

// walkFields calls fn for every field of the AcroForm (depth first, with
// inherited /FT and the full name) until fn returns false.
func walkFields(ctx *model.Context, catalog types.Dict, fn func(ref *types.IndirectRef, d types.Dict, name, ft string) bool) {
	af, err := ctx.DereferenceDict(catalog["AcroForm"])
	if err != nil || af == nil {
		return
	}
	fields, _ := ctx.DereferenceArray(af["Fields"])
	seen := map[string]bool{}
	count := 0
	var walk func(o types.Object, name, ft string, depth int) bool
	walk = func(o types.Object, name, ft string, depth int) bool {
		if depth > 16 || count > 10000 {
			return false
		}
		count++
		var ref *types.IndirectRef
		if r, ok := o.(types.IndirectRef); ok {
			if seen[r.String()] {
				return true
			}
			seen[r.String()] = true
			ref = &r
		}
		d, err := ctx.DereferenceDict(o)
		if err != nil || d == nil {
			return true
		}
		if t, ok := d["T"]; ok {
			if s, err := types.StringOrHexLiteral(t); err == nil && s != nil {
				if name != "" {
					name += "."
				}
				name += *s
			}
		}
		if n := d.NameEntry("FT"); n != nil {
			ft = *n
		}
		if !fn(ref, d, name, ft) {
			return false
		}
		kids, _ := ctx.DereferenceArray(d["Kids"])
		for _, k := range kids {
			if !walk(k, name, ft, depth+1) {
				return false
			}
		}
		return true
	}
	for _, f := range fields {
		if !walk(f, "", "", 0) {
			return
		}
	}
}

// namedField is an empty signature field the template prepared.
type namedField struct {
	name   string
	ref    types.IndirectRef
	dict   types.Dict
	widget *types.IndirectRef // its widget when separate (a kid), else nil
	wdict  types.Dict
}

// findField finds the signature field named name; it must be empty.
func findField(ctx *model.Context, catalog types.Dict, name string) (*namedField, error) {
	var nf *namedField
	var names []string
	walkFields(ctx, catalog, func(ref *types.IndirectRef, d types.Dict, full, ft string) bool {
		if ft == "Sig" && d["T"] != nil {
			names = append(names, full)
		}
		if full == name && d["T"] != nil && nf == nil {
			if ref == nil || ft != "Sig" {
				nf = &namedField{name: full}
				return false
			}
			nf = &namedField{name: full, ref: *ref, dict: d}
		}
		return true
	})
	if nf == nil {
		return nil, invalid("field %q: the document has no signature field of that name (it has %q)", name, names)
	}
	if nf.dict == nil {
		return nil, invalid("field %q is not a signature field", name)
	}
	if nf.dict["V"] != nil {
		return nil, invalid("field %q is signed already; leave field out to add a new signature", name)
	}
	if st := nf.dict.NameEntry("Subtype"); st == nil || *st != "Widget" {
		kids, _ := ctx.DereferenceArray(nf.dict["Kids"])
		for _, k := range kids {
			if r, ok := k.(types.IndirectRef); ok {
				if kd, err := ctx.DereferenceDict(r); err == nil && kd != nil {
					nf.widget, nf.wdict = &r, kd
					break
				}
			}
		}
		if nf.widget == nil {
			return nil, invalid("field %q has no widget to sign in", name)
		}
	}
	return nf, nil
}

// fill sets the field's value to the signature and, with an appearance,
// draws it in the widget's own rectangle.
func (nf *namedField) fill(ctx *model.Context, w *writer, sigNum int, a *Appearance, alloc func() int) error {
	field := nf.dict.Clone().(types.Dict)
	field["V"] = *types.NewIndirectRef(sigNum, 0)
	widget, wref := field, nf.ref
	if nf.widget != nil {
		widget, wref = nf.wdict.Clone().(types.Dict), *nf.widget
	}
	if a != nil {
		arr, err := ctx.DereferenceArray(widget["Rect"])
		if err != nil || len(arr) != 4 {
			return invalid("field %q: its widget has no /Rect to draw in", nf.name)
		}
		var r [4]float64
		for i, v := range arr {
			if r[i], err = ctx.DereferenceNumber(v); err != nil {
				return invalid("field %q: its /Rect is not numbers", nf.name)
			}
		}
		bw, bh := abs(r[2]-r[0]), abs(r[3]-r[1])
		res, err := appearance.Build(a.Spec, bw, bh, alloc)
		if err != nil {
			return appearanceError(err)
		}
		for _, o := range res.Objects {
			w.object(o.Num, 0, string(o.Body))
		}
		apNum := alloc()
		w.object(apNum, 0, string(res.Form(bw, bh, "")))
		widget["AP"] = types.Dict{"N": *types.NewIndirectRef(apNum, 0)}
	}
	widget["F"] = types.Integer(132) // print, locked
	if nf.widget != nil {
		w.object(wref.ObjectNumber.Value(), wref.GenerationNumber.Value(), widget.PDFString())
	}
	w.object(nf.ref.ObjectNumber.Value(), nf.ref.GenerationNumber.Value(), field.PDFString())
	return nil
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
