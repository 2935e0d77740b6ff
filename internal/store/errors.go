package store

import (
	"errors"
	"fmt"
)

// Code classifies a store error so callers can react without parsing messages.
type Code int

// Error codes returned by the store. Use errors.Is(err, store.ErrNotFound) and friends.
const (
	CodeUnknown Code = iota
	CodeNotFound
	CodeAlreadyExists
	CodeInvalidArgument
	CodeFailedPrecondition
	CodeUnavailable
)

func (c Code) String() string {
	switch c {
	case CodeNotFound:
		return "not found"
	case CodeAlreadyExists:
		return "already exists"
	case CodeInvalidArgument:
		return "invalid argument"
	case CodeFailedPrecondition:
		return "failed precondition"
	case CodeUnavailable:
		return "unavailable"
	default:
		return "unknown"
	}
}

// Sentinel errors, one per code; an *Error matches the sentinel of its code with errors.Is.
var (
	ErrNotFound           = &Error{Code: CodeNotFound}
	ErrAlreadyExists      = &Error{Code: CodeAlreadyExists}
	ErrInvalidArgument    = &Error{Code: CodeInvalidArgument}
	ErrFailedPrecondition = &Error{Code: CodeFailedPrecondition}
	ErrUnavailable        = &Error{Code: CodeUnavailable}
)

// Error is the one error type the store returns. Op names the operation
// ("store: creating site"), Err is the engine's error when there is one.
type Error struct {
	Code Code
	Op   string
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	var s string
	switch {
	case e.Op == "" && e.Msg == "" && e.Err == nil:
		return "store: " + e.Code.String()
	case e.Op != "":
		s = e.Op
	default:
		s = "store"
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel for e's code.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Op == "" && t.Msg == "" && t.Err == nil && t.Code == e.Code
}

func errorf(code Code, op, format string, args ...any) error {
	return &Error{Code: code, Op: op, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err, CodeUnknown when err is not a store error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeUnknown
}
