package pades

import (
	"errors"
	"fmt"
)

// Problem names why a document cannot be signed, so that a client can
// tell the user in the user's language what happened and what to do.
// The error's message says it in English for developers.
type Problem string

// The problems a refused document can have. Clients rely on the names.
const (
	// ProblemNotPDF: the file is not a PDF at all.
	ProblemNotPDF Problem = "not_pdf"
	// ProblemTruncated: the file ends early (an interrupted download).
	ProblemTruncated Problem = "truncated"
	// ProblemDamaged: the PDF's structure cannot be read.
	ProblemDamaged Problem = "damaged"
	// ProblemBrokenXref: viewers open the file only by rebuilding its
	// cross-reference table, which a signature cannot build on.
	ProblemBrokenXref Problem = "broken_xref"
	// ProblemEncrypted: the file needs a password to open.
	ProblemEncrypted Problem = "encrypted"
	// ProblemPermissions: the file's security settings forbid signing.
	ProblemPermissions Problem = "permissions"
	// ProblemCertified: a certification signature forbids more signatures.
	ProblemCertified Problem = "certified"
	// ProblemTooCostly: reading the file would take more time or memory
	// than any real letter needs.
	ProblemTooCostly Problem = "too_costly"
	// ProblemAnchorMissing: the appearance's anchor is not in the text.
	ProblemAnchorMissing Problem = "anchor_missing"
)

// problemError is an ErrInvalid with its Problem.
type problemError struct {
	p   Problem
	msg string
}

func (e *problemError) Error() string { return ErrInvalid.Error() + ": " + e.msg }
func (e *problemError) Unwrap() error { return ErrInvalid }

func problem(p Problem, msg string) error { return &problemError{p: p, msg: msg} }

func problemf(p Problem, format string, args ...any) error {
	return &problemError{p: p, msg: fmt.Sprintf(format, args...)}
}

// ProblemOf returns the Problem of a refused document, or "" when err
// names none (a request the caller must fix, for example).
func ProblemOf(err error) Problem {
	var pe *problemError
	if errors.As(err, &pe) {
		return pe.p
	}
	return ""
}
