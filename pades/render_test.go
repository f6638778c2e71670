package pades_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/tte-agent/tte-agent/appearance"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/pades/padestest"
)

// render draws page of pdf at 72 dpi with pdftoppm or mutool: one pixel
// per point of the page as shown.
func render(t *testing.T, tool, pdf string, page int) image.Image {
	return renderAt(t, tool, pdf, page, 72)
}

// renderAt draws the page (its CropBox, as viewers show it) at dpi.
func renderAt(t *testing.T, tool, pdf string, page, dpi int) image.Image {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s is not installed: run scripts/install-deps.sh", tool)
	}
	out := filepath.Join(t.TempDir(), "page.png")
	var cmd *exec.Cmd
	switch tool {
	case "pdftoppm":
		// pdftoppm draws the MediaBox unless told; viewers show the CropBox.
		cmd = exec.Command("pdftoppm", "-cropbox", "-r", itoa(dpi), "-f", itoa(page), "-l", itoa(page), "-png", "-singlefile", pdf, strings.TrimSuffix(out, ".png"))
	default:
		cmd = exec.Command("mutool", "draw", "-q", "-r", itoa(dpi), "-o", out, pdf, itoa(page))
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func itoa(n int) string { return strconv.Itoa(n) }

// box is a rectangle on the page as shown (origin bottom-left) in pixels
// of a 72 dpi rendering (origin top-left).
func box(img image.Image, r [4]float64) image.Rectangle { return boxAt(img, r, 1) }

// boxAt is box for a rendering at scale × 72 dpi.
func boxAt(img image.Image, r [4]float64, scale float64) image.Rectangle {
	h := img.Bounds().Dy()
	return image.Rect(int(r[0]*scale), h-int(r[3]*scale), int(r[2]*scale), h-int(r[1]*scale))
}

func dark(img image.Image, in image.Rectangle) (inside, outside int) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if (r+g+bl)/3 < 0x8000 {
				if (image.Point{x, y}).In(in) {
					inside++
				} else {
					outside++
				}
			}
		}
	}
	return inside, outside
}

// decodeQR has zbarimg read the QR code in r of img.
func decodeQR(t *testing.T, img image.Image, r image.Rectangle) string {
	t.Helper()
	if _, err := exec.LookPath("zbarimg"); err != nil {
		t.Fatal("zbarimg is not installed (zbar-tools): run scripts/install-deps.sh")
	}
	sub := image.NewRGBA(image.Rect(0, 0, r.Dx()*4, r.Dy()*4))
	for y := 0; y < sub.Bounds().Dy(); y++ {
		for x := 0; x < sub.Bounds().Dx(); x++ {
			sub.Set(x, y, img.At(r.Min.X+x/4, r.Min.Y+y/4)) // 4× so zbar sees whole modules
		}
	}
	p := filepath.Join(t.TempDir(), "qr.png")
	var buf bytes.Buffer
	png.Encode(&buf, sub)
	os.WriteFile(p, buf.Bytes(), 0o600)
	// stdout only: zbarimg complains on stderr when there is no D-Bus.
	out, _ := exec.Command("zbarimg", "--raw", "-q", p).Output()
	return strings.TrimSpace(string(out))
}

// seal is a PNG with transparency: a red disc on nothing.
func seal(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 60, 60))
	for y := range 60 {
		for x := range 60 {
			if (x-30)*(x-30)+(y-30)*(y-30) < 27*27 {
				img.Set(x, y, color.NRGBA{200, 0, 0, 255})
			}
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

const verifyURL = "https://tte.kominfo.go.id/verifyPDF?id=surat-2026-0042"

// A visible signature with an image, text and a QR code lands in its box
// on upright, rotated and cropped pages, in both renderers, and its QR
// code reads back.
func TestRenderedAppearance(t *testing.T) {
	s := newSigner(t, false)
	dir := t.TempDir()
	rotated := filepath.Join(dir, "rotated.pdf")
	if out, err := exec.Command("qpdf", "--rotate=+90:1", "testdata/go-minimal.pdf", rotated).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --rotate: %v\n%s", err, out)
	}
	rotated270 := filepath.Join(dir, "rotated270.pdf")
	if out, err := exec.Command("qpdf", "--rotate=+270:1", "testdata/go-minimal.pdf", rotated270).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --rotate: %v\n%s", err, out)
	}
	cropped := filepath.Join(dir, "cropped.pdf")
	b, err := model.ParseBox("[100 150 500 650]", types.POINTS)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.CropFile("testdata/go-minimal.pdf", cropped, nil, b, nil); err != nil {
		t.Fatal(err)
	}
	img, err := appearance.ParseImage(seal(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file string
		rect       [4]float64
	}{
		{"upright", "testdata/go-minimal.pdf", [4]float64{40, 40, 400, 130}},
		{"rotated 90", rotated, [4]float64{40, 40, 400, 130}},
		{"rotated 270", rotated270, [4]float64{300, 400, 660, 490}},
		{"cropped", cropped, [4]float64{20, 20, 380, 110}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := render(t, "pdftoppm", tc.file, 1)
			_, outBefore := dark(before, box(before, tc.rect))
			signed, err := sign(t, s, tc.file, pades.Options{Appearance: &pades.Appearance{Page: 1, Rect: tc.rect,
				Spec: appearance.Spec{Frame: true, Image: img, QR: verifyURL,
					Text: []string{"Ditandatangani secara elektronik oleh", "Ni Luh Putu Ayu Wijayanti, S.E., M.Ak.", "Kepala Bagian Umum"}}}})
			if err != nil {
				t.Fatal(err)
			}
			r := padestest.Check(t, signed, s.caFile)
			if len(r.PdfsigValid) != 1 || !r.PdfsigValid[0] || !r.PdfsigTotal {
				t.Fatalf("pdfsig: %s", r)
			}
			for _, tool := range []string{"pdftoppm", "mutool"} {
				page := render(t, tool, signed, 1)
				// The frame's anti-aliased edge may fall on the pixels
				// around the box.
				in, out := dark(page, box(page, tc.rect).Inset(-2))
				if in < 1000 || out > outBefore+outBefore/50+20 {
					t.Errorf("%s: %d dark pixels in the box, %d outside (%d before signing): the box is not where the page shows it", tool, in, out, outBefore)
				}
				// The QR code is the right-hand square of the box's height.
				side := tc.rect[3] - tc.rect[1]
				qr := box(page, [4]float64{tc.rect[2] - side, tc.rect[1], tc.rect[2], tc.rect[3]})
				if got := decodeQR(t, page, qr); got != verifyURL {
					t.Errorf("%s: the QR code reads %q, want %q", tool, got, verifyURL)
				}
				// Every placement draws the same upright box: one
				// expected image per renderer.
				fine := renderAt(t, tool, signed, 1, 144)
				matchGolden(t, "appearance-"+tool+".png", fine, boxAt(fine, tc.rect, 2))
			}
		})
	}
}

// The BSrE preset: QR code left, the standard sentence beside it.
func TestBSrEPreset(t *testing.T) {
	s := newSigner(t, false)
	rect := [4]float64{40, 40, 400, 100}
	signed, err := sign(t, s, "testdata/go-minimal.pdf", pades.Options{Appearance: &pades.Appearance{Page: 1, Rect: rect,
		Spec: appearance.Spec{Preset: appearance.PresetBSrE, QR: verifyURL}}})
	if err != nil {
		t.Fatal(err)
	}
	// A 60-point QR code is 1.3 pixels a module at 72 dpi: read it at
	// 216, as a printout is.
	page := renderAt(t, "mutool", signed, 1, 216)
	matchGolden(t, "bsre-mutool.png", page, boxAt(page, rect, 3))
	poppler := renderAt(t, "pdftoppm", signed, 1, 216)
	matchGolden(t, "bsre-pdftoppm.png", poppler, boxAt(poppler, rect, 3))
	side := rect[3] - rect[1]
	if got := decodeQR(t, page, boxAt(page, [4]float64{rect[0], rect[1], rect[0] + side, rect[3]}, 3)); got != verifyURL {
		t.Errorf("the QR code reads %q", got)
	}
	out, err := exec.Command("pdftotext", "-f", "1", "-l", "1", signed, "-").CombinedOutput()
	if err == nil && strings.Contains(string(out), "Dokumen ini telah") {
		t.Log("pdftotext sees the footer in the page text (it reads annotations)")
	}
	data, _ := os.ReadFile(signed)
	if !bytes.Contains(data, []byte("/FontFile2")) || !bytes.Contains(data, []byte("+GoRegular")) {
		t.Error("the footer's font is not embedded as a subset")
	}
}
