package pades

import (
	"bytes"
	"strconv"
)

// token is one lexical item of a content stream: an operator, or an
// operand (number, string, name, array).
type token struct {
	op           string  // operator, or "" for an operand
	num          float64 // a number operand
	str          []byte  // a string operand (decoded)
	isStr, isNum bool
	name         string  // a name operand
	arr          []token // an array operand
}

// lexer reads a content stream's tokens. It never fails: bytes it does
// not understand are skipped, as viewers do.
type lexer struct {
	b []byte
	p int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool { return bytes.IndexByte([]byte("()<>[]{}/%"), c) >= 0 }

// next returns the next token; ok is false at the end.
func (l *lexer) next(depth int) (t token, ok bool) {
	for l.p < len(l.b) {
		c := l.b[l.p]
		switch {
		case isSpace(c):
			l.p++
			continue
		case c == '%':
			for l.p < len(l.b) && l.b[l.p] != '\n' && l.b[l.p] != '\r' {
				l.p++
			}
			continue
		case c == '(':
			return token{str: l.literal(), isStr: true}, true
		case c == '<' && l.p+1 < len(l.b) && l.b[l.p+1] == '<':
			l.p += 2 // dictionaries (inline image parameters, BDC) are skipped as operands
			l.skipDict()
			return token{name: "<<>>"}, true
		case c == '<':
			return token{str: l.hex(), isStr: true}, true
		case c == '[':
			l.p++
			var arr []token
			for depth < 32 {
				if l.p < len(l.b) && l.b[l.p] == ']' {
					l.p++
					break
				}
				e, ok := l.next(depth + 1)
				if !ok {
					break
				}
				arr = append(arr, e)
			}
			return token{arr: arr}, true
		case c == ']' || c == '>' || c == '{' || c == '}' || c == ')':
			l.p++
			continue
		case c == '/':
			s := l.p + 1
			l.p++
			for l.p < len(l.b) && !isSpace(l.b[l.p]) && !isDelim(l.b[l.p]) {
				l.p++
			}
			return token{name: string(l.b[s:l.p])}, true
		}
		s := l.p
		for l.p < len(l.b) && !isSpace(l.b[l.p]) && !isDelim(l.b[l.p]) {
			l.p++
		}
		word := string(l.b[s:l.p])
		if f, err := strconv.ParseFloat(word, 64); err == nil {
			return token{num: f, isNum: true}, true
		}
		if word == "ID" { // inline image data: skip to EI
			if i := bytes.Index(l.b[l.p:], []byte("EI")); i >= 0 {
				l.p += i + 2
			} else {
				l.p = len(l.b)
			}
			continue
		}
		return token{op: word}, true
	}
	return token{}, false
}

func (l *lexer) skipDict() {
	depth := 1
	for l.p < len(l.b)-1 && depth > 0 {
		switch {
		case l.b[l.p] == '<' && l.b[l.p+1] == '<':
			depth++
			l.p += 2
		case l.b[l.p] == '>' && l.b[l.p+1] == '>':
			depth--
			l.p += 2
		default:
			l.p++
		}
	}
}

func (l *lexer) literal() []byte {
	l.p++ // (
	var out []byte
	depth := 1
	for l.p < len(l.b) {
		c := l.b[l.p]
		l.p++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return out
			}
		case '\\':
			if l.p >= len(l.b) {
				return out
			}
			e := l.b[l.p]
			l.p++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r', '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.p < len(l.b) && l.b[l.p] >= '0' && l.b[l.p] <= '7'; k++ {
						v = v*8 + int(l.b[l.p]-'0')
						l.p++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return out
}

func (l *lexer) hex() []byte {
	l.p++ // <
	var digits []byte
	for l.p < len(l.b) && l.b[l.p] != '>' {
		if c := l.b[l.p]; (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f') {
			digits = append(digits, c)
		}
		l.p++
	}
	l.p++
	if len(digits)%2 == 1 {
		digits = append(digits, '0')
	}
	out := make([]byte, len(digits)/2)
	for i := range out {
		v, _ := strconv.ParseUint(string(digits[2*i:2*i+2]), 16, 8)
		out[i] = byte(v)
	}
	return out
}
