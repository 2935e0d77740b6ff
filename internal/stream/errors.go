package stream

import (
	"errors"
	"fmt"
)

// Code classifies a stream error so callers can react without parsing messages.
type Code int

// Error codes returned by the stream port. Use errors.Is(err, stream.ErrNotFound) and friends.
const (
	CodeUnknown Code = iota
	CodeNotFound
	CodeInvalidArgument
	CodeFailedPrecondition
	CodeUnavailable
	CodeClosed
)

func (c Code) String() string {
	switch c {
	case CodeNotFound:
		return "not found"
	case CodeInvalidArgument:
		return "invalid argument"
	case CodeFailedPrecondition:
		return "failed precondition"
	case CodeUnavailable:
		return "unavailable"
	case CodeClosed:
		return "closed"
	default:
		return "unknown"
	}
}

// Sentinel errors, one per code; an *Error matches the sentinel of its code with errors.Is.
var (
	ErrNotFound           = &Error{Code: CodeNotFound}
	ErrInvalidArgument    = &Error{Code: CodeInvalidArgument}
	ErrFailedPrecondition = &Error{Code: CodeFailedPrecondition}
	ErrUnavailable        = &Error{Code: CodeUnavailable}
	ErrClosed             = &Error{Code: CodeClosed}
)

// Error is the one error type the stream port returns. Op names the
// operation ("stream: publishing to emissions.raw"), Err is the engine's
// error when there is one.
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
		return "stream: " + e.Code.String()
	case e.Op != "":
		s = e.Op
	default:
		s = "stream"
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

// wrap wraps an engine error once; stream errors pass through unchanged so a
// code is never hidden under another. Context errors stay reachable with
// errors.Is through Unwrap.
func wrap(code Code, op string, err error) error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	return &Error{Code: code, Op: op, Err: err}
}

// CodeOf returns the code of err, CodeUnknown when err is not a stream error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeUnknown
}
