package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	sawPIN, err := scan(data)
	if err != nil {
		return Request{}, err
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(data, &env); err != nil {
		return Request{}, NewError(ReasonParseError, "The message is not valid JSON.")
	}
	var req Request
	raw, hasID := env["id"]
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
	for k := range env {
		switch k {
		case "jsonrpc", "id", "method", "params":
		default:
			return req, invalid("unknown member %q in the request object", k)
		}
	}
	if string(bytes.TrimSpace(env["jsonrpc"])) != `"2.0"` {
		return req, invalid(`"jsonrpc" must be "2.0"`)
	}
	if err := json.Unmarshal(env["method"], &req.Method); err != nil || req.Method == "" {
		return req, invalid(`"method" must be a non-empty string`)
	}
	if p, ok := env["params"]; ok {
		p = bytes.TrimSpace(p)
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

// scan walks every token of data once: it refuses anything but a single
// object, nesting deeper than MaxDepth and duplicate member names (which
// parsers resolve differently), and reports whether a member named "pin"
// appears at any depth, in any letter case.
func scan(data []byte) (sawPIN bool, perr *Error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if !json.Valid(data) {
			return false, NewError(ReasonParseError, "The message is not valid JSON.")
		}
		return false, invalid("JSON-RPC batches (arrays) are not accepted; send one request per frame")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]struct{}
		expect bool // in an object: the next token is a member name
	}
	var stack []*frame
	first := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) != 0 || first {
				return false, NewError(ReasonParseError, "The message is not valid JSON.")
			}
			return sawPIN, nil
		}
		if err != nil {
			return false, NewError(ReasonParseError, "The message is not valid JSON.")
		}
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return false, invalid("a request is a JSON object")
			}
		} else if len(stack) == 0 {
			return false, NewError(ReasonParseError, "The message holds more than one JSON value.")
		}
		first = false
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			name, _ := tok.(string)
			if _, dup := top.keys[name]; dup {
				return false, invalid("member %q appears twice", truncate(name, 64))
			}
			top.keys[name] = struct{}{}
			if strings.EqualFold(name, "pin") {
				sawPIN = true
			}
			top.expect = false
			continue
		}
		if top != nil && top.object {
			top.expect = true
		}
		switch tok {
		case json.Delim('{'):
			if len(stack) >= MaxDepth {
				return false, invalid("the message nests deeper than %d levels", MaxDepth)
			}
			stack = append(stack, &frame{object: true, keys: map[string]struct{}{}, expect: true})
		case json.Delim('['):
			if len(stack) >= MaxDepth {
				return false, invalid("the message nests deeper than %d levels", MaxDepth)
			}
			stack = append(stack, &frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
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
// members or matches names case-insensitively).
func checkMembers(raw json.RawMessage, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if raw[0] != '{' {
			return fmt.Errorf("%s: expected an object", path)
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		fields := structFields(t)
		for name, v := range members {
			ft, ok := fields[name]
			if !ok {
				return fmt.Errorf("%s: unknown member %q", path, truncate(name, 64))
			}
			if err := checkMembers(v, ft, path+"."+name); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 || raw[0] != '[' {
			return nil // base64 bytes, or a type error json reports
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		for i, e := range elems {
			if err := checkMembers(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
