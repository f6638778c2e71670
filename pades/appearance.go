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
	// Auto places a Size box itself (Rect is ignored): at the bottom right
	// of the page as shown, moving left, then up, until it covers no
	// signature already on the page. Page 0 means the last page.
	Auto bool
	Size [2]float64
	// Anchor places a Size box at the first occurrence of this text on
	// Page (every page when 0), moved by Offset (points, as shown).
	Anchor string
	Offset [2]float64
	// AnchorAll puts a widget at every occurrence of Anchor (on every
	// page searched), all showing the one signature.
	AnchorAll bool
	// more are the further places of AnchorAll, set by placeAnchor.
	more []place
	// Spec is what the box shows.
	Spec appearance.Spec
}

// place is a box on a page.
type place struct {
	page int
	rect [4]float64
}

// autoMargin is the distance from the page's edge of an automatic box.
const autoMargin = 36.0

// maxCoord bounds coordinates: PDF pages are at most 14,400 units wide.
const maxCoord = 14400

// Check validates what does not depend on the document.
func (a *Appearance) Check() error {
	if a.Anchor != "" && !a.Auto {
		return invalid("appearance.anchor places the box itself; leave rect out")
	}
	if a.Auto {
		if a.Size[0] < 10 || a.Size[1] < 10 || a.Size[0] > maxCoord || a.Size[1] > maxCoord {
			return invalid("appearance.size: [width, height] must be at least 10 points each")
		}
		if err := a.Spec.Check(); err != nil {
			return appearanceError(err)
		}
		return nil
	}
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

// fromUser maps a point in user space to the shown page.
func (g geometry) fromUser(x, y float64) (u, v float64) {
	W, H := g.x1-g.x0, g.y1-g.y0
	switch g.rotate {
	case 90:
		return y - g.y0, g.x0 + W - x
	case 180:
		return g.x0 + W - x, g.y0 + H - y
	case 270:
		return g.y0 + H - y, x - g.x0
	}
	return x - g.x0, y - g.y0
}

// freeSpot finds a size box on the shown page that overlaps none of taken
// (user-space rectangles): from the bottom right, leftwards, then upwards.
func (g geometry) freeSpot(size [2]float64, taken [][4]float64) ([4]float64, bool) {
	pw, ph := g.shown()
	var shown [][4]float64
	for _, r := range taken {
		ua, va := g.fromUser(r[0], r[1])
		ub, vb := g.fromUser(r[2], r[3])
		shown = append(shown, [4]float64{math.Min(ua, ub), math.Min(va, vb), math.Max(ua, ub), math.Max(va, vb)})
	}
	const gap = 6.0
	w, h := size[0], size[1]
	for y := autoMargin; y+h <= ph-autoMargin; y += h + gap {
		for x := pw - autoMargin - w; x >= autoMargin-0.001; x -= w + gap {
			cand := [4]float64{x, y, x + w, y + h}
			free := true
			for _, t := range shown {
				if cand[0] < t[2]+gap/2 && t[0] < cand[2]+gap/2 && cand[1] < t[3]+gap/2 && t[1] < cand[3]+gap/2 {
					free = false
					break
				}
			}
			if free {
				return cand, true
			}
		}
	}
	return [4]float64{}, false
}

// signatureRects returns the /Rect of every signature widget on the page.
func signatureRects(ctx *model.Context, page types.Dict) [][4]float64 {
	annots, err := ctx.DereferenceArray(page["Annots"])
	if err != nil {
		return nil
	}
	var out [][4]float64
	for _, o := range annots {
		d, err := ctx.DereferenceDict(o)
		if err != nil || d == nil || !isSignatureWidget(ctx, d) {
			continue
		}
		arr, err := ctx.DereferenceArray(d["Rect"])
		if err != nil || len(arr) != 4 {
			continue
		}
		var r [4]float64
		ok := true
		for i, v := range arr {
			f, err := ctx.DereferenceNumber(v)
			if err != nil {
				ok = false
				break
			}
			r[i] = f
		}
		if ok && r[2]-r[0] > 0.5 && r[3]-r[1] > 0.5 {
			out = append(out, [4]float64{math.Min(r[0], r[2]), math.Min(r[1], r[3]), math.Max(r[0], r[2]), math.Max(r[1], r[3])})
		}
	}
	return out
}

// isSignatureWidget reports a widget of a signature field (/FT /Sig on it
// or an ancestor).
func isSignatureWidget(ctx *model.Context, d types.Dict) bool {
	if st := d.NameEntry("Subtype"); st == nil || *st != "Widget" {
		return false
	}
	for range 8 {
		if ft := d.NameEntry("FT"); ft != nil {
			return *ft == "Sig"
		}
		p, err := ctx.DereferenceDict(d["Parent"])
		if err != nil || p == nil {
			return false
		}
		d = p
	}
	return false
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
	if a.Auto {
		r, ok := g.freeSpot(a.Size, signatureRects(ctx, page))
		if !ok {
			return "", "", invalid("page %d has no free space for a %s × %s point signature box beside the signatures already on it; give appearance.rect, or a smaller appearance.size", a.Page, num(a.Size[0]), num(a.Size[1]))
		}
		a.Rect = r
	}
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
	w.object(apNum, 0, string(res.Form(bw, bh, matrix)))
	return fmt.Sprintf("[%s %s %s %s]", num(rect[0]), num(rect[1]), num(rect[2]), num(rect[3])), fmt.Sprintf("/AP<</N %d 0 R>>", apNum), nil
}
