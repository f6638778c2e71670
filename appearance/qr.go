package appearance

import (
	"fmt"
	"strings"
	"sync"

	qrcode "github.com/skip2/go-qrcode"
)

// qrPath draws text's QR code as filled rectangles in a side×side square
// at (x, y), with error correction level Q (25 %: a printed and scanned
// letter keeps a smudge or a staple hole readable) and the standard
// four-module quiet zone.
func qrPath(text string, x, y, side float64) (string, error) {
	key := fmt.Sprint(text, x, y, side)
	qrMu.Lock()
	p, ok := qrCache[key]
	qrMu.Unlock()
	if ok {
		return p, nil // a batch draws the same code in every document
	}
	p, err := drawQR(text, x, y, side)
	if err == nil {
		qrMu.Lock()
		if len(qrCache) >= 64 {
			clear(qrCache)
		}
		qrCache[key] = p
		qrMu.Unlock()
	}
	return p, err
}

var (
	qrMu    sync.Mutex
	qrCache = map[string]string{}
)

func drawQR(text string, x, y, side float64) (string, error) {
	q, err := qrcode.New(text, qrcode.High) // the library calls level Q "High"
	if err != nil {
		return "", invalid("appearance.qr: %v", err)
	}
	bits := q.Bitmap() // with the quiet zone
	n := len(bits)
	m := side / float64(n)
	var b strings.Builder
	b.WriteString("q 1 g ")
	fmt.Fprintf(&b, "%s %s %s %s re f 0 g\n", num(x), num(y), num(side), num(side))
	for row := range n {
		// Runs of dark modules in a row become one rectangle.
		for col := 0; col < n; {
			if !bits[row][col] {
				col++
				continue
			}
			start := col
			for col < n && bits[row][col] {
				col++
			}
			fmt.Fprintf(&b, "%s %s %s %s re\n", num(x+float64(start)*m), num(y+side-float64(row+1)*m), num(float64(col-start)*m), num(m))
		}
	}
	b.WriteString("f Q\n")
	return b.String(), nil
}
