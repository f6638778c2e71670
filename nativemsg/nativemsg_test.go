package nativemsg

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func frame(raw []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.NativeEndian, uint32(len(raw)))
	b.Write(raw)
	return b.Bytes()
}

func TestRead(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want error
	}{
		{"origin", frame([]byte(`{"origin":"https://eoffice.kota.go.id"}`)), nil},
		{"text", frame([]byte(`{"text":"{\"jsonrpc\":\"2.0\"}"}`)), nil},
		{"binary", frame([]byte(`{"binary":"AAAAAAAAAAElUERG"}`)), nil},
		{"two members", frame([]byte(`{"origin":"https://a.go.id","text":"x"}`)), ErrInvalid},
		{"nothing", frame([]byte(`{}`)), ErrInvalid},
		{"a host's member", frame([]byte(`{"text":"x","more":true}`)), ErrInvalid},
		{"not JSON", frame([]byte(`{"text":`)), ErrInvalid},
		{"bad base64", frame([]byte(`{"binary":"***"}`)), ErrInvalid},
		{"cut short", frame([]byte(`{"text":"abc"}`))[:8], ErrInvalid},
		{"over the bound", binary.NativeEndian.AppendUint32(nil, MaxFromBrowser+1), ErrTooLarge},
		{"4 GiB claimed", binary.NativeEndian.AppendUint32(nil, 0xffffffff), ErrTooLarge},
		{"empty stream", nil, io.EOF},
	} {
		_, err := Read(bytes.NewReader(c.in))
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestWriteText: a text over the browser's 1 MB cap goes in pieces that
// each fit and join to the text, whatever its characters.
func TestWriteText(t *testing.T) {
	for _, text := range []string{"kecil", strings.Repeat("a", 3<<20), strings.Repeat("é\"\x01", 1<<20)} {
		var out bytes.Buffer
		if err := WriteText(&out, text); err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		n := 0
		for {
			raw, err := ReadRaw(&out, MaxToBrowser)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
			var m Message
			if err := jsonUnmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			got.WriteString(m.Text + m.Part)
		}
		if got.String() != text {
			t.Errorf("%d bytes: pieces do not join to the text", len(text))
		}
		if len(text) > MaxToBrowser && n < 2 {
			t.Errorf("%d bytes in %d message", len(text), n)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(frame([]byte(`{"origin":"https://eoffice.kota.go.id"}`)))
	f.Add(frame([]byte(`{"binary":"AAAAAAAAAAElUERG"}`)))
	f.Add(frame([]byte(`{"text":"\ud800"}`)))
	f.Add(binary.NativeEndian.AppendUint32(nil, 0xfffffff0))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Read(bytes.NewReader(in))
		if err != nil {
			return
		}
		// Whatever was taken is one relay message the host can act on.
		set := 0
		for _, b := range []bool{m.Origin != "", m.Text != "", m.Binary != nil} {
			if b {
				set++
			}
		}
		if set != 1 {
			t.Fatalf("accepted %+v", m)
		}
	})
}

func jsonUnmarshal(raw []byte, m *Message) error { return json.Unmarshal(raw, m) }
