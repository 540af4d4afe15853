package trace

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	ErrNotFound     = errors.New("trace: not found")
	ErrTooLarge     = errors.New("trace: record over the size limit")
	ErrInvalid      = errors.New("trace: invalid record")
	ErrCorrupt      = errors.New("trace: corrupt data")
	ErrSealMismatch = errors.New("trace: seal or checkpoint does not match the chain")
	ErrClosed       = errors.New("trace: store closed")
	ErrBroken       = errors.New("trace: chain broken")
)

// FieldError says which field of a record is wrong, and why. It matches
// ErrInvalid.
type FieldError struct {
	Field  string // the Record field
	Reason string
}

// Error says which field is wrong and why.
func (e *FieldError) Error() string { return fmt.Sprintf("trace: record %s: %s", e.Field, e.Reason) }

// Is makes a FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// DecodeError says where an encoded record or seal is malformed. It matches
// ErrCorrupt and wraps the cause.
type DecodeError struct {
	What   string // "record", "seal", "checkpoint"
	Offset int    // byte offset within the encoding
	Reason string
	Err    error
}

// Error says what is malformed, at which byte, and why.
func (e *DecodeError) Error() string {
	s := fmt.Sprintf("trace: malformed %s at byte %d: %s", e.What, e.Offset, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// Is makes a DecodeError match ErrCorrupt.
func (e *DecodeError) Is(target error) bool { return target == ErrCorrupt }
