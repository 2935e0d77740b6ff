package stream

import (
	"errors"

	"github.com/greenlang/greenlang/internal/port"
)

// Code classifies a stream error so callers can react without parsing
// messages; the port returns the codes below (the shape every port shares
// is internal/errcode).
type Code = port.Code

// Error codes returned by the stream port. Use errors.Is(err, stream.ErrNotFound) and friends.
const (
	CodeUnknown            = port.Unknown
	CodeNotFound           = port.NotFound
	CodeInvalidArgument    = port.InvalidArgument
	CodeFailedPrecondition = port.FailedPrecondition
	CodeUnavailable        = port.Unavailable
	CodeClosed             = port.Closed
	// CodeResourceExhausted: a Producer's bounded buffer stayed full.
	CodeResourceExhausted = port.ResourceExhausted
)

// Sentinel errors, one per code; an *Error matches the sentinel of its code with errors.Is.
var (
	ErrNotFound           = port.Sentinel("stream", CodeNotFound)
	ErrInvalidArgument    = port.Sentinel("stream", CodeInvalidArgument)
	ErrFailedPrecondition = port.Sentinel("stream", CodeFailedPrecondition)
	ErrUnavailable        = port.Sentinel("stream", CodeUnavailable)
	ErrClosed             = port.Sentinel("stream", CodeClosed)
	ErrResourceExhausted  = port.Sentinel("stream", CodeResourceExhausted)
)

// Error is the one error type the stream port returns. Op names the
// operation ("stream: publishing to emissions.raw"), Err is the engine's
// error when there is one.
type Error = port.Error

func errorf(code Code, op, format string, args ...any) error {
	return port.Errorf(code, op, format, args...)
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
func CodeOf(err error) Code { return port.Of(err) }
