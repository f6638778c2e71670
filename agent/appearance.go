package agent

import (
	"context"
	"io"

	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/appearance"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/protocol"
)

// pdfAppearance turns sign.pdf's appearance into what pades draws, taking
// an image upload from the connection (consumed whatever the outcome), and
// says in c what the dialog must show of it.
func (a *Agent) pdfAppearance(ctx context.Context, p *wsserver.Peer, ap *protocol.Appearance, c *consent.Request) (*pades.Appearance, error) {
	frame := ap.Preset != appearance.PresetBSrE
	if ap.Frame != nil {
		frame = *ap.Frame
	}
	out := &pades.Appearance{Page: ap.Page, Spec: appearance.Spec{
		Text: ap.Text, QR: ap.QR, Layout: ap.Layout, Preset: ap.Preset, Frame: frame,
	}}
	if len(ap.Rect) == 4 {
		out.Rect = [4]float64(ap.Rect)
	} else {
		out.Auto, out.Size, out.Anchor, out.AnchorAll = true, defaultBoxSize, ap.Anchor, ap.AnchorAll
		if len(ap.Size) == 2 {
			out.Size = [2]float64(ap.Size)
		}
		if len(ap.Offset) == 2 {
			out.Offset = [2]float64(ap.Offset)
		}
	}
	if im := ap.Image; im != nil {
		data := im.Data
		if im.UploadID != nil {
			var err error
			if data, err = a.takeImage(ctx, p, *im.UploadID); err != nil {
				return nil, err
			}
		}
		img, err := appearance.ParseImage(data)
		if err != nil {
			return nil, protocol.BadRequest("params.%v", err)
		}
		out.Spec.Image = img
	}
	if err := out.Check(); err != nil {
		return nil, pdfError(err, -1, "")
	}
	c.AppearanceText, c.AppearanceQR = ap.Text, ap.QR
	c.AppearanceImage, c.AppearanceBSrE = ap.Image != nil, ap.Preset == appearance.PresetBSrE
	return out, nil
}

// defaultBoxSize is an automatic box's size: a signature block of a
// letter, 200 × 80 points (7 × 2.8 cm).
var defaultBoxSize = [2]float64{200, 80}

// takeImage takes an upload holding an appearance image: complete, at
// most appearance.MaxImageBytes.
func (a *Agent) takeImage(ctx context.Context, p *wsserver.Peer, id uint64) ([]byte, error) {
	u, err := a.uploadSet(p).Take(id)
	if err != nil {
		return nil, protocol.BadRequest("params.appearance.image.uploadId: unknown upload %d: start it with document.upload", id)
	}
	defer u.Remove()
	if u.Size > appearance.MaxImageBytes {
		return nil, protocol.BadRequest("params.appearance.image: %d bytes; an image may have at most %d", u.Size, appearance.MaxImageBytes)
	}
	if err := a.awaitUpload(ctx, -1, u); err != nil {
		return nil, err
	}
	data := make([]byte, u.Size)
	if _, err := u.ReadAt(data, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return data, nil
}
