package cms

import (
	"bytes"
	"errors"
)

// errBER wraps input that is neither DER nor BER this package reads.
var errBER = errors.New("malformed BER")

// maxBERDepth bounds nesting while converting BER.
const maxBERDepth = 64

// toDER converts BER as signers such as NSS (Firefox, poppler) write it —
// indefinite lengths, constructed OCTET STRINGs — into DER, the only form
// encoding/asn1 reads. Values already in DER come back unchanged, so the
// signed attributes keep the bytes their signature covers.
func toDER(ber []byte) ([]byte, error) {
	var out bytes.Buffer
	rest, err := berValue(ber, &out, 0)
	if err != nil {
		return nil, err
	}
	out.Write(rest) // trailing bytes are judged by the caller
	return out.Bytes(), nil
}

// berValue converts one value from in into out and returns what follows.
func berValue(in []byte, out *bytes.Buffer, depth int) ([]byte, error) {
	if depth > maxBERDepth {
		return nil, errBER
	}
	if len(in) < 2 {
		return nil, errBER
	}
	// Identifier octets (high tag numbers take more).
	idLen := 1
	if in[0]&0x1f == 0x1f {
		for idLen < len(in) && in[idLen]&0x80 != 0 {
			idLen++
		}
		idLen++
		if idLen >= len(in) || idLen > 6 {
			return nil, errBER
		}
	}
	id := in[:idLen]
	constructed := in[0]&0x20 != 0
	in = in[idLen:]
	if in[0] == 0x80 { // indefinite length
		if !constructed {
			return nil, errBER
		}
		in = in[1:]
		var body bytes.Buffer
		for {
			if len(in) >= 2 && in[0] == 0 && in[1] == 0 {
				in = in[2:]
				break
			}
			var err error
			if in, err = berValue(in, &body, depth+1); err != nil {
				return nil, err
			}
		}
		writeTLV(out, id, body.Bytes(), constructed)
		return in, nil
	}
	n, l, err := berLength(in)
	if err != nil {
		return nil, err
	}
	in = in[l:]
	if n > len(in) {
		return nil, errBER
	}
	content, rest := in[:n], in[n:]
	if !constructed {
		writeTLV(out, id, content, false)
		return rest, nil
	}
	var body bytes.Buffer
	for len(content) > 0 {
		if content, err = berValue(content, &body, depth+1); err != nil {
			return nil, err
		}
	}
	writeTLV(out, id, body.Bytes(), true)
	return rest, nil
}

func berLength(in []byte) (n, l int, err error) {
	if len(in) == 0 {
		return 0, 0, errBER
	}
	if in[0] < 0x80 {
		return int(in[0]), 1, nil
	}
	k := int(in[0] & 0x7f)
	if k == 0 || k > 4 || len(in) < 1+k {
		return 0, 0, errBER
	}
	for _, b := range in[1 : 1+k] {
		n = n<<8 | int(b)
	}
	if n < 0 {
		return 0, 0, errBER
	}
	return n, 1 + k, nil
}

// writeTLV writes a value with a definite length. A constructed OCTET
// STRING (universal 4) becomes primitive: its segments' contents joined.
func writeTLV(out *bytes.Buffer, id, content []byte, constructed bool) {
	if constructed && len(id) == 1 && id[0] == 0x24 {
		var joined bytes.Buffer
		for c := content; len(c) > 0; {
			n, l, err := berLength(c[1:])
			if err != nil || 1+l+n > len(c) {
				break
			}
			joined.Write(c[1+l : 1+l+n])
			c = c[1+l+n:]
		}
		id, content = []byte{0x04}, joined.Bytes()
	}
	out.Write(id)
	n := len(content)
	switch {
	case n < 0x80:
		out.WriteByte(byte(n))
	case n < 0x100:
		out.Write([]byte{0x81, byte(n)})
	case n < 0x10000:
		out.Write([]byte{0x82, byte(n >> 8), byte(n)})
	case n < 0x1000000:
		out.Write([]byte{0x83, byte(n >> 16), byte(n >> 8), byte(n)})
	default:
		out.Write([]byte{0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	}
	out.Write(content)
}
