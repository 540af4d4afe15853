package spool

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotFound: no such item in the spool, or no such step done.
	ErrNotFound = errors.New("spool: not found")
	// ErrExists: Put of an ID already in the spool.
	ErrExists = errors.New("spool: item already spooled")
	// ErrInvalid: an item, ID or step name the spool refuses
	// (*InvalidError says which field and why).
	ErrInvalid = errors.New("spool: invalid")
	// ErrClosed: a call on a closed spool.
	ErrClosed = errors.New("spool: closed")
	// ErrCorrupt: a file of the spool is damaged or foreign
	// (*CorruptError says which and where).
	ErrCorrupt = errors.New("spool: corrupt")
	// ErrLocked: another process has the spool directory open.
	ErrLocked = errors.New("spool: directory in use by another process")
	// ErrNotSpool: the directory holds files and is not a spool.
	ErrNotSpool = errors.New("spool: not a spool directory")
	// ErrFailed: a write or fsync failed earlier; the spool refuses
	// writes until it is reopened, since what is on disk is unknown.
	ErrFailed = errors.New("spool: refusing writes after a failed write")
)

// InvalidError says which field of a call the spool refused and why. It
// matches ErrInvalid.
type InvalidError struct {
	Field  string // "ID", "step", "Item.To[2]", "Item.Meta[key]", ...
	Value  string // the value refused, cut to 64 bytes
	Reason string
}

// Error names the field, the value and the reason.
func (e *InvalidError) Error() string {
	return fmt.Sprintf("spool: invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// Is makes an InvalidError match ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, value, reason string) *InvalidError {
	if len(value) > 64 {
		value = value[:64] + "..."
	}
	return &InvalidError{Field: field, Value: value, Reason: reason}
}

// CorruptError says which file of a spool is damaged or foreign, where,
// and why. It matches ErrCorrupt and wraps the cause.
type CorruptError struct {
	Path   string // the file
	Offset int64  // byte offset of the damage (-1 when it is the whole file or its name)
	Reason string
	Err    error
}

// Error names the file, the offset and what is wrong.
func (e *CorruptError) Error() string {
	s := "spool: " + e.Path
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at byte %d", e.Offset)
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is makes a CorruptError match ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// notFound says which item, or which step of it, is not there.
func notFound(id, step string) error {
	if step == "" {
		return fmt.Errorf("%w: item %q", ErrNotFound, id)
	}
	return fmt.Errorf("%w: item %q has no step %q done", ErrNotFound, id, step)
}

func exists(id string) error { return fmt.Errorf("%w: item %q", ErrExists, id) }
