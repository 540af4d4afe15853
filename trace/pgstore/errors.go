package pgstore

import "errors"

// Sentinel errors, matched with errors.Is. Errors about records match the
// sentinels of package trace (trace.ErrTooLarge, trace.ErrInvalid,
// trace.ErrNotFound, trace.ErrSealMismatch, trace.ErrCorrupt,
// trace.ErrClosed).
var (
	// ErrNotStore: the schema holds tables that are not a trace store's.
	ErrNotStore = errors.New("pgstore: not a trace store")
	// ErrVersion: the schema was made by a newer version of this package.
	ErrVersion = errors.New("pgstore: unsupported schema version")
	// ErrUnknown: the connection failed while an append committed, and
	// the database could not be asked afterwards whether it did; the
	// records may be in the log (Query or Reissue will tell).
	ErrUnknown = errors.New("pgstore: outcome of the append unknown")
)
