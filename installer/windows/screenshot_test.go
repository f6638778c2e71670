//go:build linux

package windows

import (
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"testing"
)

// screenshot saves the X display as a PNG (xwd's 24/32-bit ZPixmap), for
// a person to look at; tests assert on results, not on pictures.
func screenshot(t *testing.T, display, path string) {
	t.Helper()
	cmd := exec.Command("xwd", "-root", "-silent", "-display", display)
	data, err := cmd.Output()
	if err != nil || len(data) < 100 {
		t.Logf("screenshot: xwd: %v", err)
		return
	}
	be := binary.BigEndian.Uint32
	header, w, h := be(data[0:]), int(be(data[16:])), int(be(data[20:]))
	bpl, ncolors := int(be(data[48:])), int(be(data[76:]))
	off := int(header) + ncolors*12
	px := 0
	if w > 0 {
		px = bpl / w // bytes per pixel: 4 for Xvfb's 24-bit depth
	}
	if px < 3 || off+h*bpl > len(data) {
		t.Logf("screenshot: unexpected xwd format (%d bytes per line for %d pixels)", bpl, w)
		return
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		row := data[off+y*bpl:]
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{row[px*x+2], row[px*x+1], row[px*x], 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	defer f.Close()
	png.Encode(f, img)
}
