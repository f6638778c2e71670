package appearance

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"sync"
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

	// The compressed samples, made once for all the documents of a batch
	// (index: flattened onto white or not).
	once        [2]sync.Once
	rgb, smask  [2][]byte
	translucent bool
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
	k := 0
	if noTransparency {
		k = 1
	}
	im.once[k].Do(func() { im.samples(k, noTransparency) })
	b := im.img.Bounds()
	var objs []Object
	smask := ""
	if im.translucent && !noTransparency {
		sm := alloc()
		objs = append(objs, Object{sm, deflated(fmt.Sprintf("/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceGray/BitsPerComponent 8", b.Dx(), b.Dy()), im.smask[k])})
		smask = fmt.Sprintf("/SMask %d 0 R", sm)
	}
	objs = append([]Object{{num, deflated(fmt.Sprintf("/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceRGB/BitsPerComponent 8%s", b.Dx(), b.Dy(), smask), im.rgb[k])}}, objs...)
	return num, objs, nil
}

// samples computes and compresses the image's RGB samples and alpha.
func (im *Image) samples(k int, noTransparency bool) {
	b := im.img.Bounds()
	rgb := make([]byte, 0, 3*b.Dx()*b.Dy())
	alpha := make([]byte, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(im.img.At(x, y)).(color.NRGBA)
			if c.A != 255 {
				im.translucent = true
			}
			if noTransparency {
				// Composite onto white: PDF/A allows no soft masks here.
				a := uint32(c.A)
				c.R = uint8((uint32(c.R)*a + 255*(255-a)) / 255)
				c.G = uint8((uint32(c.G)*a + 255*(255-a)) / 255)
				c.B = uint8((uint32(c.B)*a + 255*(255-a)) / 255)
			}
			rgb = append(rgb, c.R, c.G, c.B)
			alpha = append(alpha, c.A)
		}
	}
	im.rgb[k], im.smask[k] = deflate(rgb), deflate(alpha)
}

// deflated is a stream of already compressed data.
func deflated(dict string, z []byte) []byte {
	out := []byte(fmt.Sprintf("<<%s/Filter/FlateDecode/Length %d>>stream\n", dict, len(z)))
	out = append(out, z...)
	return append(out, "\nendstream"...)
}

// zlibs reuses compressors: each holds about 600 KB of tables, and a
// batch of a thousand visible signatures would otherwise allocate
// gigabytes of them (and trip the parse budget's heap watch).
var zlibs = sync.Pool{New: func() any { return zlib.NewWriter(nil) }}

// deflate compresses data with a pooled compressor.
func deflate(data []byte) []byte {
	var z bytes.Buffer
	w := zlibs.Get().(*zlib.Writer)
	w.Reset(&z)
	w.Write(data)
	w.Close()
	zlibs.Put(w)
	return z.Bytes()
}

// streamObject is a Flate-compressed stream with the given dictionary
// entries.
func streamObject(dict string, data []byte) []byte {
	z := deflate(data)
	out := []byte(fmt.Sprintf("<<%s/Filter/FlateDecode/Length %d>>stream\n", dict, len(z)))
	out = append(out, z...)
	return append(out, "\nendstream"...)
}
