package pades_test

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the expected images in testdata/golden from this run's renderings")

// Tolerance of a comparison with an expected image: a pixel differs when
// its channels differ by more than pixelTolerance on average (anti-aliased
// edges move by a fraction of a pixel between placements), and at most
// maxDiffering of the pixels may differ.
const (
	pixelTolerance = 48
	maxDiffering   = 0.02
)

// matchGolden compares region r of img with testdata/golden/name: same
// size, and no more than maxDiffering of the pixels visibly different.
// With -update it writes the expected image instead.
func matchGolden(t *testing.T, name string, img image.Image, r image.Rectangle) {
	t.Helper()
	got := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := range r.Dy() {
		for x := range r.Dx() {
			got.Set(x, y, img.At(r.Min.X+x, r.Min.Y+y))
		}
	}
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		writePNG(t, path, got)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("expected image: %v (run go test ./pades -run %s -update to make it, and look at it)", err, t.Name())
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if want.Bounds().Size() != got.Bounds().Size() {
		t.Errorf("%s: rendered box is %v, expected %v", name, got.Bounds().Size(), want.Bounds().Size())
		return
	}
	// The box may land a pixel off between placements (a rotated or
	// cropped page's origin falls between pixels): the best of the
	// shifts by up to one pixel counts.
	var diff *image.Gray
	n := -1
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			d, k := compareShifted(got, want, dx, dy)
			if n < 0 || k < n {
				diff, n = d, k
			}
		}
	}
	if frac := float64(n) / float64(r.Dx()*r.Dy()); frac > maxDiffering {
		// Kept after the test, for a person to look at.
		dir, err := os.MkdirTemp("", "golden-")
		if err != nil {
			t.Fatal(err)
		}
		writePNG(t, filepath.Join(dir, "got.png"), got)
		writePNG(t, filepath.Join(dir, "diff.png"), diff)
		t.Errorf("%s: %.1f%% of the box's pixels differ from the expected image (at most %.0f%%); see %s", name, 100*frac, 100*maxDiffering, dir)
	}
}

// compareShifted counts the pixels of got (but its 1-pixel border) that
// differ from want's pixel (dx, dy) away, both seen through a 3x3 box
// blur (an anti-aliased edge half a pixel off is then a small change, a
// missing stroke is not), and marks them in a mask.
func compareShifted(got *image.RGBA, want image.Image, dx, dy int) (*image.Gray, int) {
	r := got.Bounds()
	mask := image.NewGray(r)
	n := 0
	for y := r.Min.Y + 2; y < r.Max.Y-2; y++ {
		for x := r.Min.X + 2; x < r.Max.X-2; x++ {
			a, b := blurred(got, x, y), blurred(want, x+dx, y+dy)
			if (absDiff(a[0], b[0])+absDiff(a[1], b[1])+absDiff(a[2], b[2]))/3 > pixelTolerance {
				n++
				mask.SetGray(x, y, color.Gray{Y: 255})
			}
		}
	}
	return mask, n
}

// blurred is the mean colour of the 3x3 pixels around (x, y).
func blurred(img image.Image, x, y int) [3]uint8 {
	var s [3]uint32
	for j := -1; j <= 1; j++ {
		for i := -1; i <= 1; i++ {
			c := color.RGBAModel.Convert(img.At(x+i, y+j)).(color.RGBA)
			s[0] += uint32(c.R)
			s[1] += uint32(c.G)
			s[2] += uint32(c.B)
		}
	}
	return [3]uint8{uint8(s[0] / 9), uint8(s[1] / 9), uint8(s[2] / 9)}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(fmt.Errorf("%s: %w", path, err))
	}
}
