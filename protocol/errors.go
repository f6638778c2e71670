// Package protocol owns the tte-agent wire protocol, version 1: the JSON-RPC
// 2.0 envelope, the parameters and results of every method, strict decoding
// of untrusted input, and the table of error codes and reasons. It uses the
// standard library only and knows nothing of tokens or sockets.
package protocol

import (
	"errors"
	"fmt"
)

// Reason is the stable, machine-readable cause of an error. Pages branch on
// it; the human message may change between versions.
type Reason string

// The reasons of contract §4.
const (
	ReasonParseError          Reason = "parse_error"
	ReasonInvalidRequest      Reason = "invalid_request"
	ReasonMethodNotFound      Reason = "method_not_found"
	ReasonBadRequest          Reason = "bad_request"
	ReasonInternal            Reason = "internal"
	ReasonNotPermitted        Reason = "not_permitted"
	ReasonUserCancelled       Reason = "user_cancelled"
	ReasonPINIncorrect        Reason = "pin_incorrect"
	ReasonPINLocked           Reason = "pin_locked"
	ReasonTokenRemoved        Reason = "token_removed"
	ReasonCertificateNotFound Reason = "certificate_not_found"
	ReasonCertificateInvalid  Reason = "certificate_invalid"
	ReasonTooLarge            Reason = "too_large"
	ReasonBusy                Reason = "busy"
	ReasonCancelled           Reason = "cancelled"
	ReasonTimeout             Reason = "timeout"
	ReasonUpstreamFailed      Reason = "upstream_failed"
	// ReasonDialogUnavailable: the consent dialog could not be shown (a
	// terminal too small for it, no terminal or display, a broken
	// pinentry); nothing was signed.
	ReasonDialogUnavailable Reason = "dialog_unavailable"
)

var reasonCodes = map[Reason]int{
	ReasonParseError:          -32700,
	ReasonInvalidRequest:      -32600,
	ReasonMethodNotFound:      -32601,
	ReasonBadRequest:          -32602,
	ReasonInternal:            -32603,
	ReasonNotPermitted:        -32001,
	ReasonUserCancelled:       -32002,
	ReasonPINIncorrect:        -32003,
	ReasonPINLocked:           -32004,
	ReasonTokenRemoved:        -32005,
	ReasonCertificateNotFound: -32006,
	ReasonCertificateInvalid:  -32007,
	ReasonTooLarge:            -32008,
	ReasonBusy:                -32009,
	ReasonCancelled:           -32010,
	ReasonTimeout:             -32011,
	ReasonUpstreamFailed:      -32012,
	ReasonDialogUnavailable:   -32013,
}

// Code returns the JSON-RPC error code of the reason, or the code of
// ReasonInternal for a reason the contract does not know.
func (r Reason) Code() int {
	if c, ok := reasonCodes[r]; ok {
		return c
	}
	return reasonCodes[ReasonInternal]
}

// ErrorData is the data member of every error object the agent sends.
type ErrorData struct {
	Reason Reason `json:"reason"`
	// Detail says more about bad_request, too_large and
	// certificate_invalid errors, in English, for developers.
	Detail string `json:"detail,omitempty"`
	// PINStatus is the token's PIN status after a failed login.
	PINStatus string `json:"pinStatus,omitempty"`
	// Completed counts the items finished before a request stopped; it is
	// present on cancelled and token_removed errors.
	Completed *int `json:"completed,omitempty"`
	// Item is the index in params.items of the document a bad_request
	// refuses.
	Item *int `json:"item,omitempty"`
	// Problem names why that document cannot be signed (not_pdf,
	// truncated, damaged, broken_xref, encrypted, permissions, certified,
	// too_costly, anchor_missing), for clients that tell the user in the
	// user's language.
	Problem string `json:"problem,omitempty"`
	// Name is that document's name.
	Name string `json:"name,omitempty"`
	// Refused lists every document of the request the agent refuses,
	// the first of them being the one Item names.
	Refused []Refusal `json:"refused,omitempty"`
}

// Refusal is one refused document of a request.
type Refusal struct {
	Item    int    `json:"item"`
	Name    string `json:"name"`
	Problem string `json:"problem,omitempty"`
	Detail  string `json:"detail"`
}

// Error is a JSON-RPC error object. It is also a Go error, so handlers
// return it directly.
type Error struct {
	Code    int       `json:"code"`
	Message string    `json:"message"`
	Data    ErrorData `json:"data"`
}

// NewError returns an error with the reason's code and the given message.
func NewError(reason Reason, message string) *Error {
	return &Error{Code: reason.Code(), Message: message, Data: ErrorData{Reason: reason}}
}

// BadRequest returns a bad_request error whose detail names what is wrong.
func BadRequest(format string, args ...any) *Error {
	e := NewError(ReasonBadRequest, "The request's parameters are invalid; fix the request as the detail says.")
	e.Data.Detail = fmt.Sprintf(format, args...)
	return e
}

// WithCompleted returns a copy of e that reports n completed items.
func (e *Error) WithCompleted(n int) *Error {
	c := *e
	c.Data.Completed = &n
	return &c
}

// Error implements error.
func (e *Error) Error() string {
	if e.Data.Detail != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Data.Reason, e.Message, e.Data.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Data.Reason, e.Message)
}

// AsError returns err as a protocol error if it is one, and false otherwise.
func AsError(err error) (*Error, bool) {
	var pe *Error
	if errors.As(err, &pe) {
		return pe, true
	}
	return nil, false
}
