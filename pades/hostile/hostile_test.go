package hostile

import (
	"bytes"
	"compress/zlib"
	"io"
	"testing"
)

// deflateZeros builds its stream by repetition; it must inflate to exactly
// n zeros with a valid checksum.
func TestDeflateZeros(t *testing.T) {
	for _, n := range []int{3 << 20, 8 << 20, 100, 1<<20 + 5} {
		r, err := zlib.NewReader(bytes.NewReader(deflateZeros(n)))
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		if err != nil || len(data) != n || bytes.ContainsFunc(data, func(r rune) bool { return r != 0 }) {
			t.Errorf("n=%d: inflated %d bytes, err %v", n, len(data), err)
		}
	}
}

// deflateFill with a prefix and a non-zero fill checks out too.
func TestDeflateFill(t *testing.T) {
	for _, n := range []int{2 << 20, 5 << 20} {
		r, err := zlib.NewReader(bytes.NewReader(deflateFill([]byte("2 0 <<>>"), ' ', n)))
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		if err != nil || len(data) != n+8 || string(data[:8]) != "2 0 <<>>" || bytes.Count(data, []byte{' '}) != n+2 {
			t.Errorf("n=%d: inflated %d bytes, err %v", n, len(data), err)
		}
	}
}

// Every case builds.
func TestCasesBuild(t *testing.T) {
	for _, c := range Cases() {
		if len(c.Build()) < 64 {
			t.Errorf("%s: too small", c.Name)
		}
	}
}
