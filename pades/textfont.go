package pades

import (
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// font returns the text reader's view of the font named in resources.
func (t *textReader) font(res types.Dict, name string) *textFont {
	if res == nil {
		return t.fonts[name] // fonts known by name only (tests)
	}
	fonts, err := t.ctx.DereferenceDict(res["Font"])
	if err != nil || fonts == nil {
		return nil
	}
	ref := fonts[name]
	key := name
	if r, ok := ref.(types.IndirectRef); ok {
		key = r.String()
	}
	if f, ok := t.fonts[key]; ok {
		return f
	}
	d, err := t.ctx.DereferenceDict(ref)
	if err != nil || d == nil {
		return nil
	}
	f := &textFont{toUni: map[uint32][]rune{}, widths: map[uint32]float64{}, dw: 500}
	if st := d.NameEntry("Subtype"); st != nil && *st == "Type0" {
		f.twoByte, f.dw = true, 1000
		if kids, err := t.ctx.DereferenceArray(d["DescendantFonts"]); err == nil && len(kids) > 0 {
			if cid, err := t.ctx.DereferenceDict(kids[0]); err == nil && cid != nil {
				if dw := cid.IntEntry("DW"); dw != nil {
					f.dw = float64(*dw)
				}
				t.cidWidths(f, cid["W"])
			}
		}
	} else {
		first := 0
		if fc := d.IntEntry("FirstChar"); fc != nil {
			first = *fc
		}
		if ws, err := t.ctx.DereferenceArray(d["Widths"]); err == nil {
			for i, w := range ws {
				if v, err := t.ctx.DereferenceNumber(w); err == nil {
					f.widths[uint32(first+i)] = v
				}
			}
		}
		t.differences(f, d["Encoding"])
	}
	if sd, _, err := t.ctx.DereferenceStreamDict(d["ToUnicode"]); err == nil && sd != nil && sd.Decode() == nil {
		parseToUnicode(f, sd.Content)
	}
	if len(t.fonts) < 256 {
		t.fonts[key] = f
	}
	return f
}

func (t *textReader) cidWidths(f *textFont, o types.Object) {
	arr, err := t.ctx.DereferenceArray(o)
	if err != nil {
		return
	}
	for i := 0; i+1 < len(arr) && len(f.widths) < 65536; {
		start, err := t.ctx.DereferenceNumber(arr[i])
		if err != nil {
			return
		}
		if ws, ok := arr[i+1].(types.Array); ok {
			for k, w := range ws {
				if v, err := t.ctx.DereferenceNumber(w); err == nil {
					f.widths[uint32(start)+uint32(k)] = v
				}
			}
			i += 2
			continue
		}
		if i+2 >= len(arr) {
			return
		}
		end, err1 := t.ctx.DereferenceNumber(arr[i+1])
		w, err2 := t.ctx.DereferenceNumber(arr[i+2])
		if err1 != nil || err2 != nil || end-start > 65536 {
			return
		}
		for c := uint32(start); c <= uint32(end); c++ {
			f.widths[c] = w
		}
		i += 3
	}
}

// differences applies an /Encoding /Differences array: glyph names the
// standard encodings know are mapped to their characters.
func (t *textReader) differences(f *textFont, o types.Object) {
	enc, err := t.ctx.DereferenceDict(o)
	if err != nil || enc == nil {
		return
	}
	diffs, err := t.ctx.DereferenceArray(enc["Differences"])
	if err != nil {
		return
	}
	code := 0
	for _, e := range diffs {
		switch v := e.(type) {
		case types.Integer:
			code = v.Value()
		case types.Name:
			if r, ok := glyphNames[v.Value()]; ok {
				f.toUni[uint32(code)] = []rune{r}
			} else if len(v.Value()) == 1 {
				f.toUni[uint32(code)] = []rune{rune(v.Value()[0])}
			}
			code++
		}
	}
}

// glyphNames are the Adobe glyph names of ASCII punctuation and digits
// (letters are their own names): what anchors are made of.
var glyphNames = map[string]rune{
	"space": ' ', "exclam": '!', "quotedbl": '"', "numbersign": '#', "dollar": '$', "percent": '%',
	"ampersand": '&', "quotesingle": '\'', "parenleft": '(', "parenright": ')', "asterisk": '*', "plus": '+',
	"comma": ',', "hyphen": '-', "period": '.', "slash": '/', "zero": '0', "one": '1', "two": '2',
	"three": '3', "four": '4', "five": '5', "six": '6', "seven": '7', "eight": '8', "nine": '9',
	"colon": ':', "semicolon": ';', "less": '<', "equal": '=', "greater": '>', "question": '?', "at": '@',
	"bracketleft": '[', "backslash": '\\', "bracketright": ']', "asciicircum": '^', "underscore": '_',
	"grave": '`', "braceleft": '{', "bar": '|', "braceright": '}', "asciitilde": '~',
}

// parseToUnicode reads bfchar and bfrange entries of a ToUnicode CMap.
func parseToUnicode(f *textFont, cmap []byte) {
	lx := &lexer{b: cmap}
	var ops []token
	code := func(b []byte) uint32 {
		var c uint32
		for _, x := range b {
			c = c<<8 | uint32(x)
		}
		return c
	}
	runes := func(b []byte) []rune {
		u := make([]uint16, 0, len(b)/2)
		for i := 0; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return utf16.Decode(u)
	}
	mode := ""
	for n := 0; n < 200000; n++ {
		tok, ok := lx.next(0)
		if !ok {
			return
		}
		switch tok.op {
		case "beginbfchar", "beginbfrange":
			mode, ops = tok.op, ops[:0]
			continue
		case "endbfchar":
			for i := 0; i+1 < len(ops); i += 2 {
				if ops[i].isStr && ops[i+1].isStr {
					f.toUni[code(ops[i].str)] = runes(ops[i+1].str)
				}
			}
			mode, ops = "", ops[:0]
			continue
		case "endbfrange":
			for i := 0; i+2 < len(ops); i += 3 {
				lo, hi := code(ops[i].str), code(ops[i+1].str)
				if hi < lo || hi-lo > 65535 {
					continue
				}
				if dst := ops[i+2]; dst.isStr {
					base := runes(dst.str)
					if len(base) == 0 {
						continue
					}
					for c := lo; c <= hi; c++ {
						r := append([]rune{}, base...)
						r[len(r)-1] += rune(c - lo)
						f.toUni[c] = r
					}
				} else {
					for k, e := range dst.arr {
						if e.isStr && lo+uint32(k) <= hi {
							f.toUni[lo+uint32(k)] = runes(e.str)
						}
					}
				}
			}
			mode, ops = "", ops[:0]
			continue
		}
		if mode != "" && tok.op == "" && len(ops) < 300000 {
			ops = append(ops, tok)
		}
	}
}
