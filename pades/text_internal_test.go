package pades

import (
	"context"
	"testing"
)

// FuzzContentText: no content stream makes the text reader panic or run
// away.
func FuzzContentText(f *testing.F) {
	f.Add([]byte("BT /F1 12 Tf 72 720 Td (Kepala ^) Tj [(a) -250 <0041>] TJ ET q 1 0 0 1 5 5 cm Q"))
	f.Add([]byte("BI /W 1 /H 1 ID \x00\xff EI BT T* ' \" ET"))
	f.Add([]byte("<< /A [1 2 (x\\051)] >> BDC [[[[ ((( <<"))
	f.Fuzz(func(t *testing.T, content []byte) {
		r := &textReader{cctx: context.Background(), fonts: map[string]*textFont{}}
		r.fonts["F1"] = &textFont{toUni: map[uint32][]rune{}, widths: map[uint32]float64{}, dw: 500}
		r.run(content, nil, identity, 0)
	})
}

// A ToUnicode CMap's bfchar and bfrange entries (both forms) are read.
func TestParseToUnicode(t *testing.T) {
	f := &textFont{toUni: map[uint32][]rune{}}
	parseToUnicode(f, []byte("2 beginbfchar <0003> <0020> <0024> <005E> endbfchar 2 beginbfrange <0010> <0012> <0041> <0020> <0021> [<00E9> <0160>] endbfrange"))
	for code, want := range map[uint32]rune{3: ' ', 0x24: '^', 0x10: 'A', 0x12: 'C', 0x20: 'é', 0x21: 'Š'} {
		if got := f.toUni[code]; len(got) != 1 || got[0] != want {
			t.Errorf("code %#x: %q, want %q", code, got, want)
		}
	}
}
