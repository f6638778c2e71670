package pades

import (
	"fmt"
	"math"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// Appearance is a visible signature: text lines in a rectangle on a page.
type Appearance struct {
	// Page is 1-based.
	Page int
	// Rect is [llx lly urx ury] in the page's default user space
	// (points from the bottom-left corner).
	Rect [4]float64
	// Text lines, drawn top to bottom in Helvetica. The built-in font
	// covers Windows-1252 (Latin letters); other characters are refused.
	Text []string
}

// maxCoord bounds coordinates: PDF pages are at most 14,400 units wide.
const maxCoord = 14400

// Check validates the appearance: a sane rectangle, at most 10 lines of
// drawable text that fit.
func (a *Appearance) Check() error {
	for _, v := range a.Rect {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > maxCoord {
			return invalid("appearance.rect: coordinates must be numbers within ±%d", maxCoord)
		}
	}
	if a.Rect[2]-a.Rect[0] < 10 || a.Rect[3]-a.Rect[1] < 10 {
		return invalid("appearance.rect: [llx lly urx ury] must be at least 10 points wide and high")
	}
	if len(a.Text) > 10 {
		return invalid("appearance.text: at most 10 lines")
	}
	for i, line := range a.Text {
		if len(line) > 200 {
			return invalid("appearance.text[%d]: longer than 200 bytes", i)
		}
		for _, r := range line {
			if r < 0x20 || r == 0x7f {
				return invalid("appearance.text[%d]: control characters cannot be drawn", i)
			}
			if _, ok := charmap.Windows1252.EncodeRune(r); !ok {
				return invalid("appearance.text[%d]: the character %q (U+%04X) cannot be drawn with the built-in font, which covers Latin letters only; write it without that character", i, r, r)
			}
		}
	}
	if len(a.Text) > 0 {
		if _, err := a.fontSize(); err != nil {
			return err
		}
	}
	return nil
}

func (a *Appearance) width() float64  { return a.Rect[2] - a.Rect[0] }
func (a *Appearance) height() float64 { return a.Rect[3] - a.Rect[1] }

// fontSize fits the lines in the rectangle: at most 10 points, at least 4.
// Widths are estimated at 0.55 em per character, Helvetica's average for
// mixed text.
func (a *Appearance) fontSize() (float64, error) {
	longest := 1
	for _, l := range a.Text {
		longest = max(longest, len([]rune(l)))
	}
	fs := min(10, (a.height()-4)/(float64(len(a.Text))*1.2), (a.width()-4)/(float64(longest)*0.55))
	if fs < 4 {
		return 0, invalid("appearance.rect is too small for the text; enlarge it or shorten the lines")
	}
	return math.Floor(fs*10) / 10, nil
}

func (a *Appearance) rectString() string {
	return fmt.Sprintf("[%s %s %s %s]", num(a.Rect[0]), num(a.Rect[1]), num(a.Rect[2]), num(a.Rect[3]))
}

// stream returns the appearance XObject: a thin frame and the lines.
func (a *Appearance) stream(fontNum int) (string, error) {
	if err := a.Check(); err != nil {
		return "", err
	}
	w, h := a.width(), a.height()
	var c strings.Builder
	fmt.Fprintf(&c, "q 0.5 w 0.2 0.2 0.2 RG 0.25 0.25 %s %s re S Q\n", num(w-0.5), num(h-0.5))
	if len(a.Text) > 0 {
		fs, _ := a.fontSize()
		lead := fs * 1.2
		fmt.Fprintf(&c, "BT 0 0 0 rg /F1 %s Tf %s TL 2 %s Td\n", num(fs), num(lead), num(h-2-fs))
		for i, line := range a.Text {
			enc, err := charmap.Windows1252.NewEncoder().Bytes([]byte(line))
			if err != nil {
				return "", invalid("appearance.text[%d]: cannot be encoded", i)
			}
			if i > 0 {
				c.WriteString("T* ")
			}
			fmt.Fprintf(&c, "%s Tj\n", literal(enc))
		}
		c.WriteString("ET\n")
	}
	content := c.String()
	return fmt.Sprintf("<</Type/XObject/Subtype/Form/BBox[0 0 %s %s]/Resources<</Font<</F1 %d 0 R>>>>/Length %d>>\nstream\n%s\nendstream",
		num(w), num(h), fontNum, len(content), content), nil
}
