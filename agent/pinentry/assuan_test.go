package pinentry

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tte-agent/tte-agent/internal/testscale"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"100%", "100%25"},
		{"a\nb\r\n", "a%0Ab%0D%0A"},
		{"tab\there", "tab%09here"},
		{"\u202eevil", "\u202eevil"}, // bidi controls are the consent text's job
	}
	for _, tt := range tests {
		if got := escape(tt.in); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := unescapeInto(nil, []byte(escape(tt.in)))
		if err != nil || string(back) != tt.in {
			t.Errorf("round trip of %q = %q, %v", tt.in, back, err)
		}
	}
}

func TestFit(t *testing.T) {
	for _, s := range []string{strings.Repeat("%0A", 500), strings.Repeat("é", 600), strings.Repeat("a", 2000)} {
		for n := 10; n < 40; n++ {
			got := fit(s, n)
			if len(got) > n {
				t.Errorf("fit(%d) gave %d bytes", n, len(got))
			}
			if !utf8.ValidString(got) {
				t.Errorf("fit split a rune: %q", got)
			}
			if _, err := unescapeInto(nil, []byte(got)); err != nil {
				t.Errorf("fit cut an escape: %q", got)
			}
		}
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		line string
		kind byte
		code uint32
		bad  bool
	}{
		{"OK", 'O', 0, false},
		{"OK Pleased to meet you", 'O', 0, false},
		{"D 1234", 'D', 0, false},
		{"ERR 83886179 Operation cancelled <Pinentry>", 'E', 99, false},
		{"ERR 83886142 Timeout", 'E', 62, false},
		{"S PASSWORD_FROM_CACHE", 'S', 0, false},
		{"# comment", '#', 0, false},
		{"ERR x", 0, 0, true},
		{"HELLO", 0, 0, true},
		{"", 0, 0, true},
	}
	for _, tt := range tests {
		r, err := parseResponse([]byte(tt.line))
		if (err != nil) != tt.bad || r.kind != tt.kind || r.code != tt.code {
			t.Errorf("parseResponse(%q) = %c %d %v", tt.line, r.kind, r.code, err)
		}
	}
}

func TestLineReaderRefusesLongLines(t *testing.T) {
	lr := &lineReader{r: strings.NewReader(strings.Repeat("x", 3000) + "\n")}
	if _, err := lr.next(); err == nil {
		t.Error("a 3000-byte line was accepted")
	}
	lr = &lineReader{r: strings.NewReader("OK a\r\nD b\nOK")}
	for _, want := range []string{"OK a", "D b"} {
		l, err := lr.next()
		if err != nil || string(l) != want {
			t.Errorf("next = %q, %v; want %q", l, err, want)
		}
	}
	if _, err := lr.next(); err == nil {
		t.Error("an unterminated last line was accepted")
	}
}

// FuzzResponses feeds arbitrary pinentry output to the GETPIN reader: it
// must return a PIN or an error, never panic or hang.
func FuzzResponses(f *testing.F) {
	f.Add([]byte("D 1234\nOK\n"))
	f.Add([]byte("S x\n# c\nD 12%2534\nD 56\nOK\n"))
	f.Add([]byte("ERR 83886179 cancelled\n"))
	f.Add([]byte("D %zz\nOK\n"))
	f.Add([]byte("INQUIRE PIN\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &conn{w: &bytes.Buffer{}, r: &lineReader{r: bytes.NewReader(data)}}
		var pin []byte
		var err error
		testscale.Within(t, 100*time.Millisecond, "reading the answer", func() { pin, err = c.getPIN() })
		if err == nil && len(pin) > 256 {
			t.Errorf("PIN of %d bytes accepted", len(pin))
		}
	})
}
