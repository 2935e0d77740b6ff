// Package port holds what every port (the store, the event stream) shares:
// the error shape — a code callers branch on, the operation, a message and
// the engine's error — and the registry of drivers by URL scheme. Each port
// re-exports them under its own names (store.ErrNotFound, stream.CodeClosed,
// store.NewRegistry), so callers keep importing only the port.
package port

import (
	"errors"
	"fmt"
)

// Code classifies an error so callers can react without parsing messages.
type Code int

// Codes. A port documents which of them it returns.
const (
	Unknown Code = iota
	NotFound
	AlreadyExists
	InvalidArgument
	FailedPrecondition
	Unavailable
	Closed
	// ResourceExhausted: a bounded resource (a buffer, a quota) is full.
	ResourceExhausted
)

func (c Code) String() string {
	switch c {
	case NotFound:
		return "not found"
	case AlreadyExists:
		return "already exists"
	case InvalidArgument:
		return "invalid argument"
	case FailedPrecondition:
		return "failed precondition"
	case Unavailable:
		return "unavailable"
	case Closed:
		return "closed"
	case ResourceExhausted:
		return "resource exhausted"
	default:
		return "unknown"
	}
}

// Error is the error type of the ports. Op names the operation ("store:
// creating site"), Port the port when there is no Op ("store"), Err the
// engine's error when there is one.
type Error struct {
	Code Code
	Port string
	Op   string
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	s := e.Op
	if s == "" {
		s = e.Port
	}
	if e.Msg == "" && e.Err == nil && e.Op == "" {
		return s + ": " + e.Code.String()
	}
	join := func(part string) {
		if s == "" {
			s = part
		} else {
			s += ": " + part
		}
	}
	if e.Msg != "" {
		join(e.Msg)
	}
	if e.Err != nil {
		join(e.Err.Error())
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinel is the error errors.Is matches every error of code with.
func Sentinel(port string, code Code) *Error { return &Error{Code: code, Port: port} }

// Is reports whether target is the sentinel for e's code.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Op == "" && t.Msg == "" && t.Err == nil && t.Code == e.Code
}

// Errorf is an error of code for op with a formatted message.
func Errorf(code Code, op, format string, args ...any) error {
	return &Error{Code: code, Op: op, Msg: fmt.Sprintf(format, args...)}
}

// Of returns the code of err, Unknown when err is not a port error.
func Of(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Unknown
}
