package appearance

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/image/font/sfnt"
)

// The subset is a TrueType font that parses, keeps the glyphs used (and
// the components of composite ones) and empties the others.
func TestSubset(t *testing.T) {
	f, err := goFont()
	if err != nil {
		t.Fatal(err)
	}
	used := map[uint16]bool{}
	for _, r := range "Ni Luh Putu Ayu Wijayanti, S.E., M.Ak. Ŝ é" {
		used[f.gid(r)] = true
	}
	sub := f.subset(used)
	if len(sub) >= len(f.data)/2 {
		t.Errorf("subset %d bytes of %d: not much of a subset", len(sub), len(f.data))
	}
	g, err := parseFont(sub)
	if err != nil {
		t.Fatalf("the subset does not parse: %v", err)
	}
	if _, err := sfnt.Parse(sub); err != nil {
		t.Fatalf("sfnt: %v", err)
	}
	if len(g.glyph(f.gid('é'))) == 0 || len(g.glyph(f.gid('Ŝ'))) == 0 {
		t.Error("a used glyph is empty in the subset")
	}
	for _, c := range f.components(f.gid('é')) {
		if len(g.glyph(c)) == 0 {
			t.Errorf("component %d of é is empty", c)
		}
	}
	if len(g.glyph(f.gid('Z'))) != 0 {
		t.Error("an unused glyph is kept")
	}
	if checksum(sub) != 0xB1B0AFBA {
		t.Errorf("whole-font checksum %#x, want 0xB1B0AFBA", checksum(sub))
	}
}

// Every Latin-1 and Latin Extended-A letter has a glyph.
func TestCoverage(t *testing.T) {
	f, _ := goFont()
	for r := rune(0x20); r <= 0x17f; r++ {
		if (r >= 0x7f && r < 0xa0) || r == 0xad {
			continue
		}
		if f.gid(r) == 0 {
			t.Errorf("no glyph for %q (U+%04X)", r, r)
		}
	}
}

func TestLayout(t *testing.T) {
	f, _ := goFont()
	lines := wrap(f, []string{"Dokumen ini telah ditandatangani secara elektronik menggunakan sertifikat elektronik"}, 10, 150)
	if len(lines) < 3 {
		t.Errorf("wrapped into %d lines: %q", len(lines), lines)
	}
	for _, l := range lines {
		if f.width(l, 10) > 150 {
			t.Errorf("line %q is %v points wide", l, f.width(l, 10))
		}
	}
	var n int
	alloc := func() int { n++; return n }
	r, err := Build(Spec{Text: []string{"Budi Santoso"}, QR: "https://x.go.id/v/1", Frame: true}, 300, 80, alloc)
	if err != nil {
		t.Fatal(err)
	}
	// Text is drawn as glyph ids of the embedded font, and the font's
	// ToUnicode maps them back.
	if !regexp.MustCompile(`<[0-9A-F]{4,}> Tj`).Match(r.Content) || !strings.Contains(r.Resources, "/Font<</F1") {
		t.Errorf("content %q resources %q", r.Content, r.Resources)
	}
	var tounicode string
	for _, o := range r.Objects {
		if bytes.Contains(o.Body, []byte("beginbfchar")) {
			tounicode = string(o.Body)
		}
		if i := bytes.Index(o.Body, []byte("/Length1")); i >= 0 {
			z, err := zlib.NewReader(bytes.NewReader(o.Body[bytes.Index(o.Body, []byte("stream\n"))+7:]))
			if err != nil {
				t.Fatal(err)
			}
			prog, _ := io.ReadAll(z)
			if _, err := sfnt.Parse(prog); err != nil {
				t.Errorf("embedded font program: %v", err)
			}
		}
	}
	if !strings.Contains(tounicode, "<0042>") { // B
		t.Errorf("ToUnicode lacks B: %s", tounicode)
	}
	if _, err := Build(Spec{Text: []string{strings.Repeat("kata ", 40)}}, 40, 12, alloc); !errors.Is(err, ErrInvalid) {
		t.Errorf("text that cannot fit: %v", err)
	}
}

func TestParseImage(t *testing.T) {
	for _, bad := range [][]byte{nil, []byte("GIF89a"), bytes.Repeat([]byte{0}, MaxImageBytes+1)} {
		if _, err := ParseImage(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%d bytes accepted: %v", len(bad), err)
		}
	}
}

// FuzzParseImage: no input makes the image reader panic.
func FuzzParseImage(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if im, err := ParseImage(data); err == nil {
			var n int
			im.objects(func() int { n++; return n }, false)
		}
	})
}
