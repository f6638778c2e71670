package pades

import (
	"regexp"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

var pdfaPart = regexp.MustCompile(`pdfaid:part(?:>|="|=')\s*([1-4])`)

// pdfaLevel returns the PDF/A part the document's XMP metadata declares
// (pdfaid:part), or 0.
func pdfaLevel(ctx *model.Context, catalog types.Dict) int {
	sd, _, err := ctx.DereferenceStreamDict(catalog["Metadata"])
	if err != nil || sd == nil || sd.Decode() != nil {
		return 0
	}
	m := pdfaPart.FindSubmatch(sd.Content[:min(len(sd.Content), 1<<20)])
	if m == nil {
		return 0
	}
	return int(m[1][0] - '0')
}
