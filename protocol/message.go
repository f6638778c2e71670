package protocol

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
)

// Version is the protocol version this package speaks.
const Version = 1

// ID is a JSON-RPC request id as it appeared on the wire: an integer or a
// string (the agent refuses null, fractions and exponents, which JSON-RPC
// discourages). Its zero value is the null id of error responses to
// requests whose id could not be read.
type ID struct {
	raw json.RawMessage
}

// maxIDLen bounds a string id; longer ids are refused as invalid.
const maxIDLen = 256

// parseID validates raw as a request id.
func parseID(raw json.RawMessage) (ID, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || len(raw) > maxIDLen {
		return ID{}, false
	}
	switch {
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return ID{}, false
		}
		b, _ := json.Marshal(s) // canonical form
		return ID{raw: b}, true
	default:
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || n > 1<<53 || n < -(1<<53) {
			return ID{}, false
		}
		return ID{raw: json.RawMessage(strconv.FormatInt(n, 10))}, true
	}
}

// IsZero reports whether the id is the null id.
func (id ID) IsZero() bool { return len(id.raw) == 0 }

// String returns the id in its canonical JSON form, or "null".
func (id ID) String() string {
	if id.IsZero() {
		return "null"
	}
	return string(id.raw)
}

// MarshalJSON implements json.Marshaler.
func (id ID) MarshalJSON() ([]byte, error) {
	if id.IsZero() {
		return []byte("null"), nil
	}
	return id.raw, nil
}

// UnmarshalJSON implements json.Unmarshaler with the same rules as a
// request's id; request.cancel names its target this way.
func (id *ID) UnmarshalJSON(b []byte) error {
	v, ok := parseID(b)
	if !ok {
		return errBadID
	}
	*id = v
	return nil
}

type protocolError string

func (e protocolError) Error() string { return string(e) }

const errBadID = protocolError("an id is an integer of at most 2^53 or a string of at most 256 bytes")

// Request is a validated JSON-RPC 2.0 request from a page.
type Request struct {
	ID     ID
	Method string
	// Params holds the raw params object; nil when the request had none.
	Params json.RawMessage
}

// Response is a JSON-RPC 2.0 response: exactly one of Result and Error is
// set.
type Response struct {
	JSONRPC string `json:"jsonrpc"`
	ID      ID     `json:"id"`
	Result  any    `json:"result,omitempty"`
	Error   *Error `json:"error,omitempty"`
}

// StreamedResult is a result that writes its own JSON piece by piece.
type StreamedResult interface {
	WriteJSON(w io.Writer) error
}

// NewResult returns a success response. A nil result is sent as {}.
func NewResult(id ID, result any) Response {
	if result == nil {
		result = struct{}{}
	}
	return Response{JSONRPC: "2.0", ID: id, Result: result}
}

// NewErrorResponse returns an error response.
func NewErrorResponse(id ID, err *Error) Response {
	return Response{JSONRPC: "2.0", ID: id, Error: err}
}

// Notification is a JSON-RPC 2.0 notification from the agent to the page.
type Notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

// NewNotification returns a notification of the method with its params.
func NewNotification(method string, params any) Notification {
	return Notification{JSONRPC: "2.0", Method: method, Params: params}
}
