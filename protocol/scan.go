package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a single-pass JSON validator over a message: syntax, nesting
// depth, duplicate member names and a member named "pin" at any depth, in
// any letter case. encoding/json's Decoder.Token did the same in one
// allocation per token; this allocates only for member names with escapes
// and was written because strict decoding dominated large requests
// (docs/performance.md).
type scanner struct {
	data   []byte
	pos    int
	depth  int
	sawPIN bool
	err    *Error
	// top collects the members of the outermost object, when not nil.
	top map[string]json.RawMessage
}

func syntaxError() *Error { return NewError(ReasonParseError, "The message is not valid JSON.") }

func (s *scanner) fail(e *Error) bool {
	if s.err == nil {
		s.err = e
	}
	return false
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

// value scans one JSON value.
func (s *scanner) value() bool {
	s.ws()
	if s.pos >= len(s.data) {
		return s.fail(syntaxError())
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		_, ok := s.str(false)
		return ok
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return s.fail(syntaxError())
}

func (s *scanner) lit(w string) bool {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(w)) {
		return s.fail(syntaxError())
	}
	s.pos += len(w)
	return true
}

func (s *scanner) number() bool {
	start := s.pos
	if s.data[s.pos] == '-' {
		s.pos++
	}
	digits := func() int {
		n := 0
		for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.pos < len(s.data) && s.data[s.pos] == '0' {
		s.pos++
	} else if digits() == 0 {
		return s.fail(syntaxError())
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if digits() == 0 {
			return s.fail(syntaxError())
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			return s.fail(syntaxError())
		}
	}
	return s.pos > start
}

// str scans a string. With decode it returns the unescaped text (only
// member names need it); otherwise it only validates.
func (s *scanner) str(decode bool) (string, bool) {
	s.pos++ // opening quote
	start := s.pos
	var b []byte
	escaped := false
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			raw := s.data[start:s.pos]
			s.pos++
			if !decode {
				return "", true
			}
			if !escaped {
				return string(raw), true
			}
			return string(b), true
		case c < 0x20:
			return "", s.fail(syntaxError())
		case c == '\\':
			if !escaped && decode {
				b = append(b, s.data[start:s.pos]...)
			}
			escaped = true
			s.pos++
			if s.pos >= len(s.data) {
				return "", s.fail(syntaxError())
			}
			e := s.data[s.pos]
			s.pos++
			var r rune = -1
			switch e {
			case '"', '\\', '/':
				r = rune(e)
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				v, ok := s.hex4()
				if !ok {
					return "", s.fail(syntaxError())
				}
				r = v
				if utf16.IsSurrogate(r) && s.pos+6 <= len(s.data) && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
					s.pos += 2
					if v2, ok := s.hex4(); ok {
						r = utf16.DecodeRune(r, v2)
					}
				}
			default:
				return "", s.fail(syntaxError())
			}
			if decode {
				b = utf8.AppendRune(b, r)
			}
		default:
			if escaped && decode {
				b = append(b, c)
			}
			s.pos++
		}
	}
	return "", s.fail(syntaxError())
}

func (s *scanner) hex4() (rune, bool) {
	if s.pos+4 > len(s.data) {
		return 0, false
	}
	var v rune
	for _, c := range s.data[s.pos : s.pos+4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			v |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			v |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	s.pos += 4
	return v, true
}

func (s *scanner) enter() bool {
	s.depth++
	if s.depth > MaxDepth {
		return s.fail(invalid("the message nests deeper than %d levels", MaxDepth))
	}
	return true
}

func (s *scanner) object() bool {
	if !s.enter() {
		return false
	}
	s.pos++ // {
	var names []string
	var seen map[string]struct{}
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		s.depth--
		return true
	}
	for {
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.fail(syntaxError())
		}
		name, ok := s.str(true)
		if !ok {
			return false
		}
		// A linear search suits the small objects of this protocol; a
		// hostile object with thousands of members switches to a set.
		dup := false
		if seen != nil {
			_, dup = seen[name]
			seen[name] = struct{}{}
		} else {
			for _, n := range names {
				dup = dup || n == name
			}
			names = append(names, name)
			if len(names) > 16 {
				seen = make(map[string]struct{}, 64)
				for _, n := range names {
					seen[n] = struct{}{}
				}
			}
		}
		if dup {
			return s.fail(invalid("member %q appears twice", truncate(name, 64)))
		}
		if strings.EqualFold(name, "pin") {
			s.sawPIN = true
		}
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.fail(syntaxError())
		}
		s.pos++
		s.ws()
		start := s.pos
		if !s.value() {
			return false
		}
		if s.top != nil && s.depth == 1 {
			s.top[name] = s.data[start:s.pos]
		}
		s.ws()
		if s.pos >= len(s.data) {
			return s.fail(syntaxError())
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.depth--
			return true
		default:
			return s.fail(syntaxError())
		}
	}
}

func (s *scanner) array() bool {
	if !s.enter() {
		return false
	}
	s.pos++ // [
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		s.depth--
		return true
	}
	for {
		if !s.value() {
			return false
		}
		s.ws()
		if s.pos >= len(s.data) {
			return s.fail(syntaxError())
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.depth--
			return true
		default:
			return s.fail(syntaxError())
		}
	}
}
