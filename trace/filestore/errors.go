package filestore

import (
	"errors"
	"fmt"

	"github.com/pecsdk/pec/trace"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotStore: the directory exists, holds files, and is not a trace
	// store. Nothing was written to it.
	ErrNotStore = errors.New("filestore: not a trace store directory")
	// ErrLocked: another process has the store open for writing.
	ErrLocked = errors.New("filestore: store is open for writing by another process")
	// ErrReadOnly: a write on a store opened with Options.ReadOnly.
	ErrReadOnly = errors.New("filestore: store opened read-only")
)

// NotStoreError says why a directory is not a trace store. It matches
// ErrNotStore.
type NotStoreError struct {
	Dir    string
	Reason string
}

// Error names the directory and why it is not a store.
func (e *NotStoreError) Error() string {
	return fmt.Sprintf("filestore: %s is not a trace store: %s", e.Dir, e.Reason)
}

// Is makes a NotStoreError match ErrNotStore.
func (e *NotStoreError) Is(target error) bool { return target == ErrNotStore }

// CorruptError says where the store's files are damaged: the file, the
// byte offset of the frame, and the Seq of the record that is (or should
// be) there, when known. It matches trace.ErrCorrupt and wraps the cause.
type CorruptError struct {
	File   string // path of the file
	Offset int64  // byte offset of the damaged frame or header
	Seq    uint64 // the record expected at Offset (0 when not a record)
	Reason string
	Err    error
}

// Error names the file, the byte offset, the record and what is wrong.
func (e *CorruptError) Error() string {
	s := fmt.Sprintf("filestore: %s at byte %d", e.File, e.Offset)
	if e.Seq != 0 {
		s += fmt.Sprintf(" (record %d)", e.Seq)
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is makes a CorruptError match trace.ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == trace.ErrCorrupt }

// Recovery is one repair Open made after a crash: a torn tail cut away.
// What was dropped had never been acknowledged.
type Recovery struct {
	File    string // path of the file truncated or removed
	Offset  int64  // where it was cut
	Dropped int64  // bytes dropped
	Seq     uint64 // the first record dropped, when records were (0 for seals)
	Records int    // complete frames dropped (an unfinished multi-record Append)
	Reason  string
}

// String describes what was recovered and where.
func (r Recovery) String() string {
	s := fmt.Sprintf("%s: %d bytes dropped at byte %d", r.File, r.Dropped, r.Offset)
	if r.Seq != 0 {
		s += fmt.Sprintf(" from record %d", r.Seq)
	}
	return s + ": " + r.Reason
}
