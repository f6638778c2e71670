package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// MaxDepth is how deeply JSON values may nest in a request. The deepest
// legitimate request (sign.pdf's appearance text) nests four levels.
const MaxDepth = 16

// ParseRequest validates one text frame as a JSON-RPC 2.0 request. On
// failure it returns the id when it could be read (so the error response
// carries it) and the contract's error: parse_error for text that is not
// JSON, invalid_request for arrays (JSON-RPC batches), non-objects, a wrong
// envelope or duplicate members, and bad_request for a `pin` member
// anywhere in the message.
func ParseRequest(data []byte) (Request, *Error) {
	top, sawPIN, err := scan(data)
	if err != nil {
		return Request{}, err
	}
	var req Request
	raw, hasID := top["id"]
	if hasID {
		if id, ok := parseID(raw); ok {
			req.ID = id
		}
	}
	// A pin member is refused before anything else is judged.
	if sawPIN {
		return req, BadRequest("a PIN never travels over this protocol; remove the pin member: the agent asks the user for it in its own dialog")
	}
	if !hasID {
		return req, invalid("the agent takes no notifications: every request needs an id")
	}
	if req.ID.IsZero() {
		return req, invalid("the id must be an integer or a string of at most 256 bytes")
	}
	for k := range top {
		switch k {
		case "jsonrpc", "id", "method", "params":
		default:
			return req, invalid("unknown member %q in the request object", truncate(k, 64))
		}
	}
	if string(top["jsonrpc"]) != `"2.0"` {
		return req, invalid(`"jsonrpc" must be "2.0"`)
	}
	if err := json.Unmarshal(top["method"], &req.Method); err != nil || req.Method == "" {
		return req, invalid(`"method" must be a non-empty string`)
	}
	if p, ok := top["params"]; ok {
		if len(p) == 0 || p[0] != '{' {
			return req, BadRequest(`"params" must be an object`)
		}
		req.Params = p
	}
	return req, nil
}

func invalid(format string, args ...any) *Error {
	e := NewError(ReasonInvalidRequest, "The message is not a valid JSON-RPC 2.0 request.")
	e.Data.Detail = fmt.Sprintf(format, args...)
	return e
}

// scan validates data in one pass (see scanner): it refuses anything but
// a single object, nesting deeper than MaxDepth and duplicate member names
// (which parsers resolve differently), and reports whether a member named
// "pin" appears at any depth, in any letter case. An array at the top is a
// JSON-RPC batch: invalid_request if it is valid JSON.
func scan(data []byte) (top map[string]json.RawMessage, sawPIN bool, perr *Error) {
	s := &scanner{data: data, top: map[string]json.RawMessage{}}
	s.ws()
	if s.pos >= len(data) {
		return nil, false, syntaxError()
	}
	first := data[s.pos]
	if !s.value() {
		return nil, false, s.err
	}
	s.ws()
	if s.pos != len(data) {
		return nil, false, NewError(ReasonParseError, "The message holds more than one JSON value.")
	}
	switch first {
	case '{':
		return s.top, s.sawPIN, nil
	case '[':
		return nil, false, invalid("JSON-RPC batches (arrays) are not accepted; send one request per frame")
	}
	return nil, false, invalid("a request is a JSON object")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Validator is implemented by params types that check their own values
// after decoding.
type Validator interface {
	// Validate returns a bad_request error describing the first invalid
	// value, or nil.
	Validate() *Error
}

// DecodeParams decodes a request's params into v, a pointer to a params
// struct. Member names must match the struct's json tags exactly (letter
// case included); an unknown member anywhere is bad_request. Absent params
// decode as an empty object. If v implements Validator, it is validated.
func DecodeParams(raw json.RawMessage, v any) *Error {
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	if err := checkMembers(raw, reflect.TypeOf(v), "params"); err != nil {
		return BadRequest("%v", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return BadRequest("params.%s: expected %s, got %s", te.Field, te.Type, te.Value)
		}
		return BadRequest("params: %v", err)
	}
	if val, ok := v.(Validator); ok {
		return val.Validate()
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// fieldsByTag caches, per struct type, its fields by exact json name.
var fieldsByTag sync.Map // reflect.Type -> map[string]reflect.Type

func structFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldsByTag.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldsByTag.Store(t, m)
	return m
}

// checkMembers refuses object members that t does not declare with exactly
// that name. encoding/json alone would accept them (it ignores unknown
// members or matches names case-insensitively). Malformed JSON is an error
// here or in the json.Unmarshal that follows.
func checkMembers(raw json.RawMessage, t reflect.Type, path string) error {
	s := &scanner{data: raw}
	return s.members(t, path)
}

var errMalformed = errors.New("malformed JSON")

// next returns the byte at the scanner's position after white space.
func (s *scanner) next() (byte, error) {
	s.ws()
	if s.pos >= len(s.data) {
		return 0, errMalformed
	}
	return s.data[s.pos], nil
}

// members walks the value at the scanner's position against t.
func (s *scanner) members(t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	c, err := s.next()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case reflect.PointerTo(t).Implements(unmarshalerType):
	case t.Kind() == reflect.Struct && c == '{':
		fields := structFields(t)
		s.pos++
		for first := true; ; first = false {
			c, err := s.next()
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if c == '}' {
				s.pos++
				return nil
			}
			if !first {
				if c != ',' {
					return fmt.Errorf("%s: %w", path, errMalformed)
				}
				s.pos++
				if c, err = s.next(); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			if c != '"' {
				return fmt.Errorf("%s: %w", path, errMalformed)
			}
			name, ok := s.str(true)
			if !ok {
				return fmt.Errorf("%s: %w", path, errMalformed)
			}
			if c, err := s.next(); err != nil || c != ':' {
				return fmt.Errorf("%s: %w", path, errMalformed)
			}
			s.pos++
			ft, ok := fields[name]
			if !ok {
				return fmt.Errorf("%s: unknown member %q", path, truncate(name, 64))
			}
			if err := s.members(ft, path+"."+name); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 && c == '[':
		s.pos++
		for i := 0; ; i++ {
			c, err := s.next()
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if c == ']' {
				s.pos++
				return nil
			}
			if i > 0 {
				if c != ',' {
					return fmt.Errorf("%s: %w", path, errMalformed)
				}
				s.pos++
			}
			if err := s.members(t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	// Anything else is json.Unmarshal's to type-check; skip it.
	if !s.value() {
		return fmt.Errorf("%s: %w", path, errMalformed)
	}
	return nil
}
