package store

import "github.com/greenlang/greenlang/internal/port"

// Code classifies a store error so callers can react without parsing
// messages; the store returns the codes below (the shape every port shares
// is internal/errcode).
type Code = port.Code

// Error codes returned by the store. Use errors.Is(err, store.ErrNotFound) and friends.
const (
	CodeUnknown            = port.Unknown
	CodeNotFound           = port.NotFound
	CodeAlreadyExists      = port.AlreadyExists
	CodeInvalidArgument    = port.InvalidArgument
	CodeFailedPrecondition = port.FailedPrecondition
	CodeUnavailable        = port.Unavailable
)

// Sentinel errors, one per code; an *Error matches the sentinel of its code with errors.Is.
var (
	ErrNotFound           = port.Sentinel("store", CodeNotFound)
	ErrAlreadyExists      = port.Sentinel("store", CodeAlreadyExists)
	ErrInvalidArgument    = port.Sentinel("store", CodeInvalidArgument)
	ErrFailedPrecondition = port.Sentinel("store", CodeFailedPrecondition)
	ErrUnavailable        = port.Sentinel("store", CodeUnavailable)
)

// Error is the one error type the store returns. Op names the operation
// ("store: creating site"), Err is the engine's error when there is one.
type Error = port.Error

func errorf(code Code, op, format string, args ...any) error {
	return port.Errorf(code, op, format, args...)
}

// CodeOf returns the code of err, CodeUnknown when err is not a store error.
func CodeOf(err error) Code { return port.Of(err) }
