package pades

import (
	"context"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// placed is one character a page shows, at its glyph origin in user space.
type placed struct {
	r    rune
	x, y float64
}

type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul is m × n (m applied first).
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// textFont is what the text reader needs of a font.
type textFont struct {
	twoByte bool
	toUni   map[uint32][]rune
	widths  map[uint32]float64 // glyph space (1/1000 em)
	dw      float64
}

// maxTextOps bounds the operators interpreted per page (forms included),
// and maxTextChars the characters kept; the parse budget's context bounds
// the whole search.
const (
	maxTextOps   = 2_000_000
	maxTextChars = 1_000_000
)

// pageText returns the characters page pageNr shows, in content order.
func pageText(cctx context.Context, ctx *model.Context, pageNr int) ([]placed, error) {
	page, _, inherited, err := ctx.PageDict(pageNr, false)
	if err != nil || page == nil {
		return nil, invalid("cannot read page %d (%v)", pageNr, err)
	}
	content, err := ctx.PageContent(page, pageNr)
	if err != nil {
		return nil, nil // a page without content shows no text
	}
	var res types.Dict
	if inherited != nil {
		res = inherited.Resources
	}
	t := &textReader{ctx: ctx, cctx: cctx, fonts: map[string]*textFont{}}
	t.run(content, res, identity, 0)
	if err := cctx.Err(); err != nil {
		return nil, context.Cause(cctx)
	}
	return t.out, nil
}

type textState struct {
	ctm                      matrix
	font                     *textFont
	size, tc, tw, tz, tl, ts float64
}

type textReader struct {
	ctx   *model.Context
	cctx  context.Context // the parse's budget: its end stops the reader
	fonts map[string]*textFont
	out   []placed
	ops   int
}

func (t *textReader) run(content []byte, res types.Dict, ctm matrix, depth int) {
	st := textState{ctm: ctm, tz: 1}
	var stack []textState
	var tm, tlm matrix
	var operands []token
	lx := &lexer{b: content}
	num := func(i int) float64 {
		if i < len(operands) && operands[i].isNum {
			return operands[i].num
		}
		return 0
	}
	show := func(s []byte) {
		f := st.font
		if f == nil {
			return
		}
		step := 1
		if f.twoByte {
			step = 2
		}
		for i := 0; i+step <= len(s); i += step {
			code := uint32(s[i])
			if step == 2 {
				code = code<<8 | uint32(s[i+1])
			}
			trm := matrix{st.size * st.tz, 0, 0, st.size, 0, st.ts}.mul(tm).mul(st.ctm)
			rs, ok := f.toUni[code]
			if !ok && !f.twoByte {
				rs = []rune{latin1(byte(code))}
			}
			for _, r := range rs {
				t.out = append(t.out, placed{r: r, x: trm[4], y: trm[5]})
			}
			w, ok := f.widths[code]
			if !ok {
				w = f.dw
			}
			tx := w / 1000 * st.size
			tx += st.tc
			if step == 1 && code == 32 {
				tx += st.tw
			}
			tm = matrix{1, 0, 0, 1, tx * st.tz, 0}.mul(tm)
		}
	}
	for {
		tok, ok := lx.next(0)
		if !ok {
			return
		}
		if tok.op == "" {
			if len(operands) < 64 {
				operands = append(operands, tok)
			}
			continue
		}
		t.ops++
		if t.ops > maxTextOps || t.ops%4096 == 0 && t.cctx.Err() != nil {
			return
		}
		if len(t.out) > maxTextChars {
			return
		}
		switch tok.op {
		case "q":
			if len(stack) < 64 {
				stack = append(stack, st)
			}
		case "Q":
			if n := len(stack); n > 0 {
				st, stack = stack[n-1], stack[:n-1]
			}
		case "cm":
			if len(operands) == 6 {
				st.ctm = matrix{num(0), num(1), num(2), num(3), num(4), num(5)}.mul(st.ctm)
			}
		case "BT":
			tm, tlm = identity, identity
		case "Tf":
			if len(operands) == 2 {
				st.font, st.size = t.font(res, operands[0].name), num(1)
			}
		case "Tc":
			st.tc = num(0)
		case "Tw":
			st.tw = num(0)
		case "Tz":
			st.tz = num(0) / 100
		case "TL":
			st.tl = num(0)
		case "Ts":
			st.ts = num(0)
		case "Td", "TD":
			if tok.op == "TD" {
				st.tl = -num(1)
			}
			tlm = matrix{1, 0, 0, 1, num(0), num(1)}.mul(tlm)
			tm = tlm
		case "Tm":
			if len(operands) == 6 {
				tm = matrix{num(0), num(1), num(2), num(3), num(4), num(5)}
				tlm = tm
			}
		case "T*":
			tlm = matrix{1, 0, 0, 1, 0, -st.tl}.mul(tlm)
			tm = tlm
		case "Tj", "'", "\"":
			if tok.op != "Tj" {
				if tok.op == "\"" && len(operands) == 3 {
					st.tw, st.tc = num(0), num(1)
				}
				tlm = matrix{1, 0, 0, 1, 0, -st.tl}.mul(tlm)
				tm = tlm
			}
			if n := len(operands); n > 0 && operands[n-1].isStr {
				show(operands[n-1].str)
			}
		case "TJ":
			if len(operands) == 1 {
				for _, e := range operands[0].arr {
					switch {
					case e.isStr:
						show(e.str)
					case e.isNum:
						tm = matrix{1, 0, 0, 1, -e.num / 1000 * st.size * st.tz, 0}.mul(tm)
					}
				}
			}
		case "Do":
			if depth < 3 && len(operands) == 1 {
				t.form(res, operands[0].name, st.ctm, depth)
			}
		}
		operands = operands[:0]
	}
}

// form reads the text of a form XObject drawn with Do.
func (t *textReader) form(res types.Dict, name string, ctm matrix, depth int) {
	if res == nil {
		return
	}
	xo, err := t.ctx.DereferenceDict(res["XObject"])
	if err != nil || xo == nil {
		return
	}
	sd, _, err := t.ctx.DereferenceStreamDict(xo[name])
	if err != nil || sd == nil {
		return
	}
	if st := sd.NameEntry("Subtype"); st == nil || *st != "Form" {
		return
	}
	if err := sd.Decode(); err != nil {
		return
	}
	m := identity
	if arr, err := t.ctx.DereferenceArray(sd.Dict["Matrix"]); err == nil && len(arr) == 6 {
		for i, v := range arr {
			m[i], _ = t.ctx.DereferenceNumber(v)
		}
	}
	fres, _ := t.ctx.DereferenceDict(sd.Dict["Resources"])
	if fres == nil {
		fres = res
	}
	t.run(sd.Content, fres, m.mul(ctm), depth+1)
}

// latin1 decodes a byte of a simple font without ToUnicode: WinAnsi's
// printable range is Latin-1's.
func latin1(b byte) rune { return rune(b) }
