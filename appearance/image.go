package appearance

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// Image bounds: a signature specimen or seal is small.
const (
	MaxImageBytes  = 2 << 20
	MaxImagePixels = 4 << 20
)

// Image is a decoded PNG or JPEG to draw.
type Image struct {
	Width, Height int
	jpeg          []byte      // a JPEG passed through (DCTDecode), or nil
	gray          bool        // the JPEG's colour space is gray
	img           image.Image // a PNG (or a CMYK JPEG) drawn from samples
}

// ParseImage reads a PNG or JPEG of at most MaxImageBytes and
// MaxImagePixels.
func ParseImage(data []byte) (*Image, error) {
	if len(data) > MaxImageBytes {
		return nil, invalid("appearance.image: larger than %d bytes; send a smaller PNG or JPEG", MaxImageBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "png" && format != "jpeg") {
		return nil, invalid("appearance.image: not a PNG or JPEG image")
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width*cfg.Height > MaxImagePixels {
		return nil, invalid("appearance.image: %d×%d pixels; at most %d pixels", cfg.Width, cfg.Height, MaxImagePixels)
	}
	im := &Image{Width: cfg.Width, Height: cfg.Height}
	if format == "jpeg" {
		switch cfg.ColorModel {
		case color.GrayModel:
			im.jpeg, im.gray = data, true
			return im, nil
		case color.YCbCrModel:
			im.jpeg = data
			return im, nil
		}
		// CMYK and others: decoded and drawn from samples.
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, invalid("appearance.image: the JPEG is damaged (%v)", err)
		}
		im.img = img
		return im, nil
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, invalid("appearance.image: the PNG is damaged (%v)", err)
	}
	im.img = img
	return im, nil
}

// objects writes the image XObject (and its SMask) and returns its number.
// Without transparency the alpha is composited onto white.
func (im *Image) objects(alloc func() int, noTransparency bool) (int, []Object, error) {
	num := alloc()
	if im.jpeg != nil {
		cs := "DeviceRGB"
		if im.gray {
			cs = "DeviceGray"
		}
		body := append([]byte(fmt.Sprintf("<</Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/%s/BitsPerComponent 8/Filter/DCTDecode/Length %d>>stream\n",
			im.Width, im.Height, cs, len(im.jpeg))), im.jpeg...)
		return num, []Object{{num, append(body, "\nendstream"...)}}, nil
	}
	b := im.img.Bounds()
	rgb := make([]byte, 0, 3*b.Dx()*b.Dy())
	alpha := make([]byte, 0, b.Dx()*b.Dy())
	translucent := false
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(im.img.At(x, y)).(color.NRGBA)
			if c.A != 255 {
				translucent = true
			}
			if noTransparency {
				// Composite onto white: PDF/A-1 allows no soft masks.
				a := uint32(c.A)
				c.R = uint8((uint32(c.R)*a + 255*(255-a)) / 255)
				c.G = uint8((uint32(c.G)*a + 255*(255-a)) / 255)
				c.B = uint8((uint32(c.B)*a + 255*(255-a)) / 255)
			}
			rgb = append(rgb, c.R, c.G, c.B)
			alpha = append(alpha, c.A)
		}
	}
	var objs []Object
	smask := ""
	if translucent && !noTransparency {
		sm := alloc()
		objs = append(objs, Object{sm, streamObject(fmt.Sprintf("/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceGray/BitsPerComponent 8", b.Dx(), b.Dy()), alpha)})
		smask = fmt.Sprintf("/SMask %d 0 R", sm)
	}
	objs = append([]Object{{num, streamObject(fmt.Sprintf("/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceRGB/BitsPerComponent 8%s", b.Dx(), b.Dy(), smask), rgb)}}, objs...)
	return num, objs, nil
}

// streamObject is a Flate-compressed stream with the given dictionary
// entries.
func streamObject(dict string, data []byte) []byte {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(data)
	w.Close()
	out := []byte(fmt.Sprintf("<<%s/Filter/FlateDecode/Length %d>>stream\n", dict, z.Len()))
	out = append(out, z.Bytes()...)
	return append(out, "\nendstream"...)
}
