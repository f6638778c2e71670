package pades

import (
	"context"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// maxAnchorPlaces bounds the widgets of one anchorAll signature.
const maxAnchorPlaces = 500

// placeAnchor finds a.Anchor in the text of a.Page (every page when 0)
// and returns a copy of a with its Rect: a Size box whose lower-left
// corner is the anchor's first character's origin plus Offset, on the
// page as shown.
func placeAnchor(cctx context.Context, ctx *model.Context, a Appearance) (Appearance, error) {
	needle := []rune(a.Anchor)
	first, last := 1, ctx.PageCount
	if a.Page > 0 {
		first, last = a.Page, a.Page
	}
	var found []place
	for p := first; p <= last; p++ {
		text, err := pageText(cctx, ctx, p)
		if err != nil {
			return a, err
		}
		var page types.Dict
		var g geometry
		for from := 0; from < len(text); {
			i := indexRunes(text[from:], needle)
			if i < 0 {
				break
			}
			i += from
			from = i + len(needle)
			if page == nil {
				var inherited *model.InheritedPageAttrs
				page, _, inherited, err = ctx.PageDict(p, false)
				if err != nil || page == nil {
					return a, invalid("cannot read page %d (%v)", p, err)
				}
				if g, err = pageGeometry(ctx, page, inherited); err != nil {
					return a, err
				}
			}
			u, v := g.fromUser(text[i].x, text[i].y)
			u, v = u+a.Offset[0], v+a.Offset[1]
			found = append(found, place{p, [4]float64{u, v, u + a.Size[0], v + a.Size[1]}})
			if !a.AnchorAll || len(found) >= maxAnchorPlaces {
				break
			}
		}
		if len(found) > 0 && !a.AnchorAll {
			break
		}
	}
	if len(found) > 0 {
		a.Page, a.Auto, a.Rect = found[0].page, false, found[0].rect
		a.more = found[1:]
		return a, nil
	}
	where := "any page"
	if a.Page > 0 {
		where = "page " + strconv.Itoa(a.Page)
	}
	return a, problemf(ProblemAnchorMissing, "appearance.anchor %q is not in the text of %s; check the template's marker, or place the signature with page and rect", a.Anchor, where)
}

func indexRunes(text []placed, needle []rune) int {
	if len(needle) == 0 {
		return -1
	}
outer:
	for i := 0; i+len(needle) <= len(text); i++ {
		for k, r := range needle {
			if text[i+k].r != r {
				continue outer
			}
		}
		return i
	}
	return -1
}
