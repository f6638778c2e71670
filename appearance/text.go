package appearance

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
)

// Font sizes tried, largest first.
const (
	maxFontSize = 10.0
	minFontSize = 4.0
	leading     = 1.2
)

// wrap breaks lines into lines of at most w points at size, at spaces
// (a word longer than the width is broken by characters).
func wrap(f *font, lines []string, size, w float64) []string {
	var out []string
	for _, line := range lines {
		words := strings.Fields(line)
		if len(words) == 0 {
			out = append(out, "")
			continue
		}
		cur := ""
		for _, word := range words {
			try := word
			if cur != "" {
				try = cur + " " + word
			}
			if f.width(try, size) <= w {
				cur = try
				continue
			}
			if cur != "" {
				out = append(out, cur)
			}
			// A word wider than the line is cut where it overflows.
			for f.width(word, size) > w {
				rs := []rune(word)
				k := len(rs) - 1
				for k > 1 && f.width(string(rs[:k]), size) > w {
					k--
				}
				out = append(out, string(rs[:k]))
				word = string(rs[k:])
			}
			cur = word
		}
		out = append(out, cur)
	}
	return out
}

// fit chooses the largest size (in 0.5 pt steps) at which the wrapped lines
// fit the box.
func fit(f *font, lines []string, b box) (float64, []string, error) {
	for size := maxFontSize; size >= minFontSize; size -= 0.5 {
		wrapped := wrap(f, lines, size, b.w)
		if float64(len(wrapped))*size*leading <= b.h+0.01 {
			return size, wrapped, nil
		}
	}
	return 0, nil, invalid("appearance: the text does not fit in the box even at %g points; enlarge appearance.rect or shorten the text", minFontSize)
}

// drawText lays out and draws lines in b, and returns the font objects
// (a Type0 font over an embedded subset of Go Regular) and the font's
// object number.
func drawText(lines []string, b box, alloc func() int) (string, []Object, int, error) {
	f, err := goFont()
	if err != nil {
		return "", nil, 0, err
	}
	size, wrapped, err := fit(f, lines, b)
	if err != nil {
		return "", nil, 0, err
	}
	used := map[uint16]rune{}
	var c strings.Builder
	asc := float64(f.ascent) / float64(f.unitsPerEm) * size
	total := float64(len(wrapped)) * size * leading
	top := b.y + b.h - (b.h-total)/2 // centred vertically
	fmt.Fprintf(&c, "BT 0 g /F1 %s Tf %s TL %s %s Td\n", num(size), num(size*leading), num(b.x), num(top-asc))
	for i, line := range wrapped {
		if i > 0 {
			c.WriteString("T* ")
		}
		c.WriteString("<")
		for _, r := range line {
			g := f.gid(r)
			used[g] = r
			fmt.Fprintf(&c, "%04X", g)
		}
		c.WriteString("> Tj\n")
	}
	c.WriteString("ET\n")
	objs, ref := fontObjects(f, used, alloc)
	return c.String(), objs, ref, nil
}

// fontObjects returns the Type0 font, its CIDFontType2 descendant, the
// font descriptor, the subset font program and the ToUnicode CMap.
func fontObjects(f *font, used map[uint16]rune, alloc func() int) ([]Object, int) {
	type0, cid, desc, file, tou, set := alloc(), alloc(), alloc(), alloc(), alloc(), alloc()
	gids := make([]int, 0, len(used))
	keep := map[uint16]bool{}
	for g := range used {
		gids = append(gids, int(g))
		keep[g] = true
	}
	sort.Ints(gids)
	tag := subsetTag(gids)
	name := tag + "+GoRegular"
	scale := 1000 / float64(f.unitsPerEm)
	var w strings.Builder
	w.WriteString("[")
	for _, g := range gids {
		fmt.Fprintf(&w, "%d[%d]", g, int(math.Round(float64(f.advances[g])*scale)))
	}
	w.WriteString("]")
	program, zf := subsetProgram(f, gids, keep)
	cidSetData := cidSet(f.closure(keep))
	var cmap strings.Builder
	cmap.WriteString("/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo<</Registry(Adobe)/Ordering(UCS)/Supplement 0>> def /CMapName/Adobe-Identity-UCS def /CMapType 2 def 1 begincodespacerange <0000><FFFF> endcodespacerange\n")
	for i := 0; i < len(gids); i += 100 {
		chunk := gids[i:min(i+100, len(gids))]
		fmt.Fprintf(&cmap, "%d beginbfchar\n", len(chunk))
		for _, g := range chunk {
			fmt.Fprintf(&cmap, "<%04X><%s>\n", g, utf16Hex(used[uint16(g)]))
		}
		cmap.WriteString("endbfchar\n")
	}
	cmap.WriteString("endcmap CMapName currentdict /CMap defineresource pop end end")
	s := func(v float64) int { return int(math.Round(v * scale)) }
	objs := []Object{
		{type0, []byte(fmt.Sprintf("<</Type/Font/Subtype/Type0/BaseFont/%s/Encoding/Identity-H/DescendantFonts[%d 0 R]/ToUnicode %d 0 R>>", name, cid, tou))},
		{cid, []byte(fmt.Sprintf("<</Type/Font/Subtype/CIDFontType2/BaseFont/%s/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>/FontDescriptor %d 0 R/DW 1000/W%s/CIDToGIDMap/Identity>>", name, desc, w.String()))},
		{desc, []byte(fmt.Sprintf("<</Type/FontDescriptor/FontName/%s/Flags 32/FontBBox[%d %d %d %d]/ItalicAngle 0/Ascent %d/Descent %d/CapHeight %d/StemV 80/FontFile2 %d 0 R/CIDSet %d 0 R>>",
			name, s(float64(f.bbox[0])), s(float64(f.bbox[1])), s(float64(f.bbox[2])), s(float64(f.bbox[3])), s(float64(f.ascent)), s(float64(f.descent)), s(float64(f.capHeight)), file, set))},
		{file, deflated(fmt.Sprintf("/Length1 %d", program), zf)}, // zf is shared: deflated copies it
		{tou, []byte(fmt.Sprintf("<</Length %d>>stream\n%s\nendstream", cmap.Len(), cmap.String()))},
		{set, append(fmt.Appendf(nil, "<</Length %d>>stream\n", len(cidSetData)), append(cidSetData, "\nendstream"...)...)},
	}
	return objs, type0
}

// programs caches compressed font subsets by their glyphs: a batch's
// documents all draw the same signer's text.
var (
	programsMu sync.Mutex
	programs   = map[string]cachedProgram{}
)

type cachedProgram struct {
	length int
	z      []byte
}

// subsetProgram returns the subset's uncompressed length and its Flate
// bytes, from the cache when the same glyphs were subset before.
func subsetProgram(f *font, gids []int, keep map[uint16]bool) (int, []byte) {
	key := fmt.Sprint(gids)
	programsMu.Lock()
	p, ok := programs[key]
	programsMu.Unlock()
	if ok {
		return p.length, p.z
	}
	program := f.subset(keep)
	p = cachedProgram{length: len(program), z: deflate(program)}
	programsMu.Lock()
	if len(programs) >= 64 {
		clear(programs) // a bound, not a policy
	}
	programs[key] = p
	programsMu.Unlock()
	return p.length, p.z
}

// subsetTag is the six capital letters a subset font's name starts with,
// derived from its glyphs so that equal subsets get equal names.
func subsetTag(gids []int) string {
	h := uint32(2166136261)
	for _, g := range gids {
		h = (h ^ uint32(g)) * 16777619
	}
	b := make([]byte, 6)
	for i := range b {
		b[i] = 'A' + byte(h%26)
		h /= 26
	}
	return string(b)
}

func utf16Hex(r rune) string {
	if r < 0x10000 {
		return fmt.Sprintf("%04X", r)
	}
	r -= 0x10000
	return fmt.Sprintf("%04X%04X", 0xD800+(r>>10), 0xDC00+(r&0x3FF))
}
