package pades

import (
	"errors"
	"fmt"
	"math"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/tte-agent/tte-agent/appearance"
)

// Appearance is a visible signature: what package appearance draws, in a
// rectangle on a page.
type Appearance struct {
	// Page is 1-based.
	Page int
	// Rect is [llx lly urx ury] in points on the page as a viewer shows
	// it: from the lower-left corner of the visible area (the CropBox),
	// after the page's /Rotate. The agent maps it to the page's user
	// space and turns the drawing with the page.
	Rect [4]float64
	// Spec is what the box shows.
	Spec appearance.Spec
}

// maxCoord bounds coordinates: PDF pages are at most 14,400 units wide.
const maxCoord = 14400

// Check validates what does not depend on the document.
func (a *Appearance) Check() error {
	for _, v := range a.Rect {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > maxCoord {
			return invalid("appearance.rect: coordinates must be numbers within ±%d", maxCoord)
		}
	}
	if a.Rect[2]-a.Rect[0] < 10 || a.Rect[3]-a.Rect[1] < 10 {
		return invalid("appearance.rect: [llx lly urx ury] must be at least 10 points wide and high")
	}
	if err := a.Spec.Check(); err != nil {
		return appearanceError(err)
	}
	return nil
}

func appearanceError(err error) error {
	if errors.Is(err, appearance.ErrInvalid) {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

// geometry is where a page shows itself: its visible box in user space
// and its rotation (0, 90, 180, 270 clockwise).
type geometry struct {
	x0, y0, x1, y1 float64
	rotate         int
}

// pageGeometry reads the page's CropBox (inherited; else MediaBox) and
// /Rotate (inherited).
func pageGeometry(ctx *model.Context, page types.Dict, inherited *model.InheritedPageAttrs) (geometry, error) {
	var g geometry
	var box *types.Rectangle
	if inherited != nil {
		box = inherited.CropBox
		if box == nil {
			box = inherited.MediaBox
		}
	}
	if box == nil {
		return g, invalid("the page has no MediaBox")
	}
	g.x0, g.y0, g.x1, g.y1 = box.LL.X, box.LL.Y, box.UR.X, box.UR.Y
	if g.x1 < g.x0 {
		g.x0, g.x1 = g.x1, g.x0
	}
	if g.y1 < g.y0 {
		g.y0, g.y1 = g.y1, g.y0
	}
	if inherited != nil {
		g.rotate = ((inherited.Rotate % 360) + 360) % 360
	}
	if g.rotate%90 != 0 {
		return g, invalid("the page's /Rotate %d is not a multiple of 90", g.rotate)
	}
	return g, nil
}

// shown is the page's size as a viewer shows it.
func (g geometry) shown() (w, h float64) {
	w, h = g.x1-g.x0, g.y1-g.y0
	if g.rotate == 90 || g.rotate == 270 {
		w, h = h, w
	}
	return w, h
}

// toUser maps a point on the shown page to user space.
func (g geometry) toUser(u, v float64) (x, y float64) {
	W, H := g.x1-g.x0, g.y1-g.y0
	switch g.rotate {
	case 90:
		return g.x0 + W - v, g.y0 + u
	case 180:
		return g.x0 + W - u, g.y0 + H - v
	case 270:
		return g.x0 + v, g.y0 + H - u
	}
	return g.x0 + u, g.y0 + v
}

// placement returns the widget's /Rect in user space and the form's
// /Matrix that turns a drawing made upright in a w×h box with the page.
func (g geometry) placement(r [4]float64) (rect [4]float64, matrix string) {
	xa, ya := g.toUser(r[0], r[1])
	xb, yb := g.toUser(r[2], r[3])
	rect = [4]float64{math.Min(xa, xb), math.Min(ya, yb), math.Max(xa, xb), math.Max(ya, yb)}
	w, h := r[2]-r[0], r[3]-r[1]
	switch g.rotate {
	case 90:
		matrix = fmt.Sprintf("[0 1 -1 0 %s 0]", num(h))
	case 180:
		matrix = fmt.Sprintf("[-1 0 0 -1 %s %s]", num(w), num(h))
	case 270:
		matrix = fmt.Sprintf("[0 -1 1 0 0 %s]", num(w))
	default:
		matrix = "[1 0 0 1 0 0]"
	}
	return rect, matrix
}

// widget draws the appearance for a page and returns the widget's /Rect
// and /AP entries; objects go through w with numbers from alloc.
func (a *Appearance) widget(ctx *model.Context, page types.Dict, inherited *model.InheritedPageAttrs, w *writer, alloc func() int) (string, string, error) {
	g, err := pageGeometry(ctx, page, inherited)
	if err != nil {
		return "", "", err
	}
	pw, ph := g.shown()
	const tol = 1.0
	if a.Rect[0] < -tol || a.Rect[1] < -tol || a.Rect[2] > pw+tol || a.Rect[3] > ph+tol {
		return "", "", invalid("appearance.rect [%s %s %s %s] lies outside page %d, which is shown %s × %s points; place the box inside the page",
			num(a.Rect[0]), num(a.Rect[1]), num(a.Rect[2]), num(a.Rect[3]), a.Page, num(pw), num(ph))
	}
	bw, bh := a.Rect[2]-a.Rect[0], a.Rect[3]-a.Rect[1]
	res, err := appearance.Build(a.Spec, bw, bh, alloc)
	if err != nil {
		return "", "", appearanceError(err)
	}
	for _, o := range res.Objects {
		w.object(o.Num, 0, string(o.Body))
	}
	rect, matrix := g.placement(a.Rect)
	apNum := alloc()
	w.object(apNum, 0, fmt.Sprintf("<</Type/XObject/Subtype/Form/BBox[0 0 %s %s]/Matrix%s/Resources%s/Length %d>>\nstream\n%s\nendstream",
		num(bw), num(bh), matrix, res.Resources, len(res.Content), res.Content))
	return fmt.Sprintf("[%s %s %s %s]", num(rect[0]), num(rect[1]), num(rect[2]), num(rect[3])), fmt.Sprintf("/AP<</N %d 0 R>>", apNum), nil
}
