// Package appearance draws visible signatures: the content of a signature
// field's appearance stream — text lines in an embedded subset TrueType
// font, a QR code drawn as vectors, a PNG or JPEG image (transparency as
// an SMask) — laid out in a box, and the PDF objects it needs. It is pure:
// the caller allocates object numbers and writes the objects.
package appearance

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrInvalid wraps every appearance the agent cannot draw; its text says
// which field and why.
var ErrInvalid = errors.New("invalid appearance")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Presets.
const (
	// PresetBSrE is the footer block of letters signed through BSrE: the
	// QR code on the left and the standard sentence beside it.
	PresetBSrE = "bsre"
)

// BSrEFooter is the sentence of PresetBSrE.
const BSrEFooter = "Dokumen ini telah ditandatangani secara elektronik menggunakan sertifikat elektronik yang diterbitkan oleh BSrE"

// Layouts of the image.
const (
	LayoutImageLeft = "image-left" // image left, text middle, QR right (default)
	LayoutImageTop  = "image-top"  // image above the text, QR right
)

// Limits.
const (
	MaxLines     = 10
	MaxLineBytes = 200
	MaxQRBytes   = 1024
)

// Spec is what the box shows.
type Spec struct {
	Text   []string
	QR     string
	Image  *Image
	Layout string
	Preset string
	// Frame draws a thin border.
	Frame bool
	// NoTransparency flattens an image's alpha onto white (PDF/A-1).
	NoTransparency bool
}

// Check validates a spec before any drawing: lines, characters the font
// draws, QR length, layout and preset names.
func (s *Spec) Check() error {
	if s.Preset != "" && s.Preset != PresetBSrE {
		return invalid("appearance.preset %q: the only preset is %q", s.Preset, PresetBSrE)
	}
	if s.Preset == PresetBSrE && s.QR == "" {
		return invalid("appearance.preset %q needs appearance.qr, the verification URL the QR code links to", PresetBSrE)
	}
	switch s.Layout {
	case "", LayoutImageLeft, LayoutImageTop:
	default:
		return invalid("appearance.layout %q: use %q or %q", s.Layout, LayoutImageLeft, LayoutImageTop)
	}
	if len(s.Text) > MaxLines {
		return invalid("appearance.text: at most %d lines", MaxLines)
	}
	f, err := goFont()
	if err != nil {
		return err
	}
	for i, line := range s.Text {
		if len(line) > MaxLineBytes {
			return invalid("appearance.text[%d]: longer than %d bytes", i, MaxLineBytes)
		}
		for _, r := range line {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return invalid("appearance.text[%d]: control characters cannot be drawn", i)
			}
		}
		if r, ok := f.covers(line); !ok {
			return invalid("appearance.text[%d]: the character %q (U+%04X) is not in the embedded font, which covers Latin letters with their accents (Latin-1 and Latin Extended-A); write it without that character", i, r, r)
		}
	}
	if len(s.QR) > MaxQRBytes {
		return invalid("appearance.qr: at most %d bytes", MaxQRBytes)
	}
	if s.Text == nil && s.QR == "" && s.Image == nil && s.Preset == "" {
		return invalid("appearance: give text, qr, image or a preset")
	}
	return nil
}

// Object is a PDF object the appearance needs.
type Object struct {
	Num  int
	Body []byte
}

// Result is a drawn appearance: the form XObject's content and resources,
// and the objects the resources name.
type Result struct {
	Content   []byte
	Resources string
	Objects   []Object
}

// Form returns the form XObject for the appearance in a w×h box with the
// given /Matrix ("" for none): its content Flate-compressed (a QR code is
// hundreds of rectangles).
func (r *Result) Form(w, h float64, matrix string) []byte {
	dict := fmt.Sprintf("/Type/XObject/Subtype/Form/BBox[0 0 %s %s]", num(w), num(h))
	if matrix != "" {
		dict += "/Matrix" + matrix
	}
	return streamObject(dict+"/Resources"+r.Resources, r.Content)
}

// box is a rectangle inside the appearance.
type box struct{ x, y, w, h float64 }

// Build draws spec in a w×h box; alloc returns fresh object numbers.
func Build(spec Spec, w, h float64, alloc func() int) (*Result, error) {
	if err := spec.Check(); err != nil {
		return nil, err
	}
	if w < 10 || h < 10 || w > 14400 || h > 14400 {
		return nil, invalid("appearance: the box must be between 10 and 14400 points wide and high")
	}
	text := spec.Text
	if spec.Preset == PresetBSrE {
		text = append(append([]string{}, text...), BSrEFooter)
	}
	var c strings.Builder
	res := &Result{}
	var xobjects, fonts []string
	const pad = 2.0
	area := box{pad, pad, w - 2*pad, h - 2*pad}
	if spec.Frame {
		fmt.Fprintf(&c, "q 0.5 w 0.2 0.2 0.2 RG 0.25 0.25 %s %s re S Q\n", num(w-0.5), num(h-0.5))
	}
	// The QR code: a square of the box's height, right (left for the
	// BSrE footer), at most a third of the width.
	if spec.QR != "" {
		side := math.Min(area.h, area.w/3)
		qx := area.x + area.w - side
		if spec.Preset == PresetBSrE {
			qx = area.x
			area.x += side + pad
		}
		area.w -= side + pad
		ops, err := qrPath(spec.QR, qx, area.y+(area.h-side)/2, side)
		if err != nil {
			return nil, err
		}
		c.WriteString(ops)
	}
	if spec.Image != nil {
		name, objs, err := spec.Image.objects(alloc, spec.NoTransparency)
		if err != nil {
			return nil, err
		}
		res.Objects = append(res.Objects, objs...)
		xobjects = append(xobjects, fmt.Sprintf("/Im1 %d 0 R", name))
		ratio := float64(spec.Image.Width) / float64(spec.Image.Height)
		var ib box
		if spec.Layout == LayoutImageTop && len(text) > 0 {
			ih := area.h / 2
			iw := math.Min(area.w, ih*ratio)
			ih = iw / ratio
			ib = box{area.x + (area.w-iw)/2, area.y + area.h - ih, iw, ih}
			area.h -= ih + pad
		} else {
			iw := math.Min(area.h*ratio, area.w)
			if len(text) > 0 {
				iw = math.Min(iw, area.w/2)
			}
			ih := iw / ratio
			ib = box{area.x, area.y + (area.h-ih)/2, iw, ih}
			if len(text) > 0 {
				area.x += iw + pad
				area.w -= iw + pad
			} else {
				ib.x = area.x + (area.w-iw)/2
			}
		}
		fmt.Fprintf(&c, "q %s 0 0 %s %s %s cm /Im1 Do Q\n", num(ib.w), num(ib.h), num(ib.x), num(ib.y))
	}
	if len(text) > 0 {
		ops, objs, fontRef, err := drawText(text, area, alloc)
		if err != nil {
			return nil, err
		}
		c.WriteString(ops)
		res.Objects = append(res.Objects, objs...)
		fonts = append(fonts, fmt.Sprintf("/F1 %d 0 R", fontRef))
	}
	var r strings.Builder
	r.WriteString("<<")
	if len(fonts) > 0 {
		r.WriteString("/Font<<" + strings.Join(fonts, "") + ">>")
	}
	if len(xobjects) > 0 {
		r.WriteString("/XObject<<" + strings.Join(xobjects, "") + ">>")
	}
	r.WriteString(">>")
	res.Content = []byte(c.String())
	res.Resources = r.String()
	return res, nil
}

// num formats a coordinate without exponent and with at most 3 decimals.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64)
}
