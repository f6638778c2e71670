package appearance

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"

	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// font is a TrueType font the appearance embeds as a subset: Go Regular
// (BSD licence, in golang.org/x/image), which covers Latin-1 and Latin
// Extended-A — Indonesian names with diacritics, "Ni Luh Putu Ayu
// Wijayanti, S.E., M.Ak." — and is built into the binary, so nothing
// depends on the fonts a workstation has.
type font struct {
	data       []byte
	sf         *sfnt.Font
	tables     map[string][]byte
	order      []string
	unitsPerEm int
	locaLong   bool
	loca       []uint32
	advances   []uint16
	// latin holds the glyphs of U+0000 to U+024F, looked up once.
	latin     [0x250]uint16
	ascent    int16
	descent   int16
	bbox      [4]int16
	capHeight int16
}

var (
	fontOnce sync.Once
	theFont  *font
	fontErr  error
)

// goFont returns the parsed Go Regular font.
func goFont() (*font, error) {
	fontOnce.Do(func() { theFont, fontErr = parseFont(goregular.TTF) })
	return theFont, fontErr
}

func parseFont(data []byte) (*font, error) {
	sf, err := sfnt.Parse(data)
	if err != nil {
		return nil, err
	}
	f := &font{data: data, sf: sf, tables: map[string][]byte{}}
	if len(data) < 12 {
		return nil, errors.New("font too short")
	}
	n := int(binary.BigEndian.Uint16(data[4:]))
	for i := range n {
		rec := data[12+16*i:]
		tag := string(rec[:4])
		off, length := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if int(off)+int(length) > len(data) {
			return nil, fmt.Errorf("table %s outside the font", tag)
		}
		f.tables[tag] = data[off : off+length]
		f.order = append(f.order, tag)
	}
	for _, t := range []string{"head", "hhea", "hmtx", "loca", "glyf", "maxp"} {
		if f.tables[t] == nil {
			return nil, fmt.Errorf("font has no %s table", t)
		}
	}
	head, hhea, maxp := f.tables["head"], f.tables["hhea"], f.tables["maxp"]
	f.unitsPerEm = int(binary.BigEndian.Uint16(head[18:]))
	for i := range 4 {
		f.bbox[i] = int16(binary.BigEndian.Uint16(head[36+2*i:]))
	}
	f.locaLong = binary.BigEndian.Uint16(head[50:]) == 1
	numGlyphs := int(binary.BigEndian.Uint16(maxp[4:]))
	f.ascent, f.descent = int16(binary.BigEndian.Uint16(hhea[4:])), int16(binary.BigEndian.Uint16(hhea[6:]))
	numH := int(binary.BigEndian.Uint16(hhea[34:]))
	hmtx := f.tables["hmtx"]
	f.advances = make([]uint16, numGlyphs)
	for g := range numGlyphs {
		i := min(g, numH-1)
		f.advances[g] = binary.BigEndian.Uint16(hmtx[4*i:])
	}
	loca := f.tables["loca"]
	f.loca = make([]uint32, numGlyphs+1)
	for g := range numGlyphs + 1 {
		if f.locaLong {
			f.loca[g] = binary.BigEndian.Uint32(loca[4*g:])
		} else {
			f.loca[g] = 2 * uint32(binary.BigEndian.Uint16(loca[2*g:]))
		}
	}
	for r := range rune(len(f.latin)) {
		f.latin[r] = f.lookup(r)
	}
	f.capHeight = f.ascent
	if os2 := f.tables["OS/2"]; len(os2) >= 90 {
		f.capHeight = int16(binary.BigEndian.Uint16(os2[88:]))
	}
	return f, nil
}

// gid returns the glyph of r, 0 when the font has none.
func (f *font) gid(r rune) uint16 {
	if r >= 0 && int(r) < len(f.latin) {
		return f.latin[r]
	}
	return f.lookup(r)
}

func (f *font) lookup(r rune) uint16 {
	var b sfnt.Buffer
	g, err := f.sf.GlyphIndex(&b, r)
	if err != nil {
		return 0
	}
	return uint16(g)
}

// Covers reports whether the font draws every rune of s.
func (f *font) covers(s string) (rune, bool) {
	for _, r := range s {
		if f.gid(r) == 0 {
			return r, false
		}
	}
	return 0, true
}

// width is the width of s at size points.
func (f *font) width(s string, size float64) float64 {
	w := 0
	for _, r := range s {
		w += int(f.advances[f.gid(r)])
	}
	return float64(w) * size / float64(f.unitsPerEm)
}

// glyph returns glyph g's bytes in glyf.
func (f *font) glyph(g uint16) []byte {
	a, b := f.loca[g], f.loca[g+1]
	if b <= a || int(b) > len(f.tables["glyf"]) {
		return nil
	}
	return f.tables["glyf"][a:b]
}

// components returns the glyphs a composite glyph is built from.
func (f *font) components(g uint16) []uint16 {
	data := f.glyph(g)
	if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
		return nil // simple glyph (or empty)
	}
	var out []uint16
	p := 10
	for p+4 <= len(data) {
		flags := binary.BigEndian.Uint16(data[p:])
		out = append(out, binary.BigEndian.Uint16(data[p+2:]))
		p += 4
		if flags&0x0001 != 0 { // ARG_1_AND_2_ARE_WORDS
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&0x0008 != 0: // WE_HAVE_A_SCALE
			p += 2
		case flags&0x0040 != 0: // WE_HAVE_AN_X_AND_Y_SCALE
			p += 4
		case flags&0x0080 != 0: // WE_HAVE_A_TWO_BY_TWO
			p += 8
		}
		if flags&0x0020 == 0 { // MORE_COMPONENTS
			break
		}
	}
	return out
}

// closure is the glyphs a subset drawing used keeps: those, .notdef and
// the components of composite glyphs.
func (f *font) closure(used map[uint16]bool) map[uint16]bool {
	keep := map[uint16]bool{0: true}
	var add func(g uint16, depth int)
	add = func(g uint16, depth int) {
		if keep[g] && g != 0 || depth > 8 || int(g) >= len(f.advances) {
			return
		}
		keep[g] = true
		for _, c := range f.components(g) {
			add(c, depth+1)
		}
	}
	for g := range used {
		add(g, 0)
	}
	return keep
}

// cidSet is the font descriptor's /CIDSet data (PDF/A-1 requires it of a
// subset CIDFont): one bit per CID, high bit first, set for every glyph
// the subset keeps (CIDs are glyph ids: CIDToGIDMap /Identity).
func cidSet(keep map[uint16]bool) []byte {
	top := uint16(0)
	for g := range keep {
		top = max(top, g)
	}
	b := make([]byte, int(top)/8+1)
	for g := range keep {
		b[g/8] |= 0x80 >> (g % 8)
	}
	return b
}

// subset returns a TrueType font with only the glyphs in used (and
// .notdef and their components) drawn: the others stay as empty glyphs,
// so glyph ids do not change and the PDF maps CIDs to them one to one.
func (f *font) subset(used map[uint16]bool) []byte {
	keep := f.closure(used)
	var glyf bytes.Buffer
	loca := make([]byte, 4*(len(f.advances)+1))
	for g := range len(f.advances) {
		binary.BigEndian.PutUint32(loca[4*g:], uint32(glyf.Len()))
		if keep[uint16(g)] {
			glyf.Write(withoutInstructions(f.glyph(uint16(g))))
			for glyf.Len()%4 != 0 {
				glyf.WriteByte(0)
			}
		}
	}
	binary.BigEndian.PutUint32(loca[4*len(f.advances):], uint32(glyf.Len()))
	head := append([]byte{}, f.tables["head"]...)
	binary.BigEndian.PutUint16(head[50:], 1) // long loca
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	// Metrics of the drawn glyphs only (the PDF's /W gives the widths;
	// zeros compress to nothing), all long so none depends on another.
	hmtx := make([]byte, 4*len(f.advances))
	for g := range keep {
		binary.BigEndian.PutUint16(hmtx[4*int(g):], f.advances[g])
		binary.BigEndian.PutUint16(hmtx[4*int(g)+2:], uint16(f.lsb(g)))
	}
	hhea := append([]byte{}, f.tables["hhea"]...)
	binary.BigEndian.PutUint16(hhea[34:], uint16(len(f.advances)))
	tables := map[string][]byte{"head": head, "loca": loca, "glyf": glyf.Bytes(), "hmtx": hmtx, "hhea": hhea}
	// post version 3.0: the header without glyph names (5 KB less).
	if post := f.tables["post"]; len(post) >= 32 {
		p := append([]byte{}, post[:32]...)
		binary.BigEndian.PutUint32(p, 0x00030000)
		tables["post"] = p
	}
	var tags []string
	for _, t := range f.order {
		switch t {
		case "head", "loca", "glyf", "hmtx", "hhea":
			continue // rewritten above
		case "post":
			if tables["post"] == nil {
				continue
			}
		case "maxp", "OS/2", "cmap":
			// What ISO 32000 §9.9 asks of an embedded CIDFontType2 program
			// (without cvt, fpgm and prep: the glyphs lose their hinting
			// instructions, which print and zoomed screens do not need),
			// with OS/2 and cmap, which strict font parsers expect.
			tables[t] = f.tables[t]
		default:
			continue // name, post, GSUB, kern, ...: a PDF does not use them
		}
		tags = append(tags, t)
	}
	tags = append(tags, "head", "loca", "glyf", "hmtx", "hhea")
	sort.Strings(tags)
	return writeFont(tables, tags)
}

// lsb is glyph g's left side bearing from hmtx.
func (f *font) lsb(g uint16) int16 {
	hmtx := f.tables["hmtx"]
	numH := int(binary.BigEndian.Uint16(f.tables["hhea"][34:]))
	at := 4*int(g) + 2
	if int(g) >= numH {
		at = 4*numH + 2*(int(g)-numH)
	}
	if at+2 > len(hmtx) {
		return 0
	}
	return int16(binary.BigEndian.Uint16(hmtx[at:]))
}

// withoutInstructions returns glyph data without its TrueType hinting
// instructions (a simple glyph's, or a composite's after its last
// component), so the font needs no fpgm, prep or cvt. Data it cannot
// walk is returned as it is.
func withoutInstructions(g []byte) []byte {
	if len(g) < 10 {
		return g
	}
	n := int(int16(binary.BigEndian.Uint16(g)))
	if n >= 0 {
		at := 10 + 2*n
		if at+2 > len(g) {
			return g
		}
		skip := int(binary.BigEndian.Uint16(g[at:]))
		if at+2+skip > len(g) {
			return g
		}
		out := make([]byte, 0, len(g)-skip)
		out = append(out, g[:at]...)
		out = append(out, 0, 0)
		return append(out, g[at+2+skip:]...)
	}
	const (
		words        = 0x0001
		scale        = 0x0008
		more         = 0x0020
		xyScale      = 0x0040
		twoByTwo     = 0x0080
		instructions = 0x0100
	)
	at := 10
	for {
		if at+4 > len(g) {
			return g
		}
		flags := binary.BigEndian.Uint16(g[at:])
		last := at
		at += 4
		if flags&words != 0 {
			at += 4
		} else {
			at += 2
		}
		switch {
		case flags&scale != 0:
			at += 2
		case flags&xyScale != 0:
			at += 4
		case flags&twoByTwo != 0:
			at += 8
		}
		if at > len(g) {
			return g
		}
		if flags&more == 0 {
			out := append([]byte{}, g[:at]...)
			binary.BigEndian.PutUint16(out[last:], flags&^instructions)
			return out
		}
	}
}

func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:min(i+4, len(b))])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

func writeFont(tables map[string][]byte, tags []string) []byte {
	n := len(tags)
	var out bytes.Buffer
	hdr := make([]byte, 12)
	binary.BigEndian.PutUint32(hdr, 0x00010000)
	binary.BigEndian.PutUint16(hdr[4:], uint16(n))
	es := 0
	for 1<<(es+1) <= n {
		es++
	}
	binary.BigEndian.PutUint16(hdr[6:], uint16(16<<es))
	binary.BigEndian.PutUint16(hdr[8:], uint16(es))
	binary.BigEndian.PutUint16(hdr[10:], uint16(n*16-(16<<es)))
	out.Write(hdr)
	dir := make([]byte, 16*n)
	off := 12 + 16*n
	var body bytes.Buffer
	headAt := 0
	for i, t := range tags {
		data := tables[t]
		copy(dir[16*i:], t)
		binary.BigEndian.PutUint32(dir[16*i+4:], checksum(data))
		binary.BigEndian.PutUint32(dir[16*i+8:], uint32(off+body.Len()))
		binary.BigEndian.PutUint32(dir[16*i+12:], uint32(len(data)))
		if t == "head" {
			headAt = off + body.Len()
		}
		body.Write(data)
		for body.Len()%4 != 0 {
			body.WriteByte(0)
		}
	}
	out.Write(dir)
	out.Write(body.Bytes())
	b := out.Bytes()
	binary.BigEndian.PutUint32(b[headAt+8:], 0xB1B0AFBA-checksum(b))
	return b
}
