//go:build !linux

package pinentry

func ttySize(string) (rows, cols int) { return 0, 0 }

func quiet(string) (flush, restore func()) {
	none := func() {}
	return none, none
}
