package pades

import (
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// everyWidget writes a signature field (object fieldNum, value sigNum)
// whose kids are widgets at a's place and every further one, each drawn
// with the appearance, and adds them to their pages' /Annots.
func everyWidget(ctx *model.Context, w *writer, a Appearance, name string, fieldNum, sigNum int, alloc func() int) error {
	places := append([]place{{a.Page, a.Rect}}, a.more...)
	fieldRef := types.NewIndirectRef(fieldNum, 0)
	var kids types.Array
	byPage := map[int][]types.IndirectRef{}
	var order []int
	for _, pl := range places {
		page, pageRef, inherited, err := ctx.PageDict(pl.page, false)
		if err != nil || page == nil || pageRef == nil {
			return invalid("cannot read page %d (%v)", pl.page, err)
		}
		b := a
		b.Page, b.Rect, b.Auto, b.more = pl.page, pl.rect, false, nil
		rect, ap, err := b.widget(ctx, page, inherited, w, alloc)
		if err != nil {
			return err
		}
		num := alloc()
		w.object(num, 0, fmt.Sprintf("<</Type/Annot/Subtype/Widget/Parent %s/V %d 0 R/F 132/P %s/Rect%s%s>>", fieldRef.PDFString(), sigNum, pageRef.PDFString(), rect, ap))
		ref := *types.NewIndirectRef(num, 0)
		kids = append(kids, ref)
		if byPage[pl.page] == nil {
			order = append(order, pl.page)
		}
		byPage[pl.page] = append(byPage[pl.page], ref)
	}
	w.object(fieldNum, 0, fmt.Sprintf("<</FT/Sig/T%s/V %d 0 R/Kids%s>>", literal([]byte(name)), sigNum, kids.PDFString()))
	for _, p := range order {
		page, pageRef, _, err := ctx.PageDict(p, false)
		if err != nil {
			return invalid("cannot read page %d (%v)", p, err)
		}
		if err := addAnnot(ctx, w, page, pageRef, byPage[p]...); err != nil {
			return err
		}
	}
	return nil
}
