package pades

import (
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// checkCertification refuses a document whose certification signature
// (the catalog's /Perms /DocMDP) allows no changes at all (P 1): any
// signature added after it breaks the certification in every validator.
// P 2 and P 3 allow further signatures.
func checkCertification(ctx *model.Context, catalog types.Dict) error {
	perms, err := ctx.DereferenceDict(catalog["Perms"])
	if err != nil || perms == nil {
		return nil
	}
	sig, err := ctx.DereferenceDict(perms["DocMDP"])
	if err != nil || sig == nil {
		return nil
	}
	refs, err := ctx.DereferenceArray(sig["Reference"])
	if err != nil {
		return nil
	}
	for _, ref := range refs {
		r, err := ctx.DereferenceDict(ref)
		if err != nil || r == nil {
			continue
		}
		if m := r.NameEntry("TransformMethod"); m == nil || *m != "DocMDP" {
			continue
		}
		params, err := ctx.DereferenceDict(r["TransformParams"])
		if err != nil || params == nil {
			continue
		}
		if p := params.IntEntry("P"); p != nil && *p == 1 {
			return problemf(ProblemCertified, "the document is certified with no changes allowed (DocMDP P=1): another signature would break its certification; ask its author for a version that allows signatures")
		}
	}
	return nil
}
