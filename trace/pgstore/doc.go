// Package pgstore is a trace.Store in PostgreSQL, for providers that run
// several server instances against one shared log.
//
// Open creates (or migrates) the store's tables in a schema of their own,
// "pec_trace" by default. Each record is kept as its canonical encoding
// (trace.Record.MarshalBinary, in a bytea column), so that what is read
// back is exactly what was chained, beside columns and index tables for
// the fields Query selects on: the provider message identifier, the
// client's Message-ID, the time, every address involved, and the
// Message-IDs of the messages generated, by which Reissue finds a receipt.
//
// The chain head lives in a one-row table. Append locks that row (SELECT
// ... FOR UPDATE) in the transaction that chains and inserts the records,
// so appends from every instance sharing the database are serialised and
// the chain can never fork; the records of one call are contiguous and
// committed together or not at all. Within one instance, concurrent
// Appends are grouped into one transaction, and so share one commit (one
// WAL flush). Cut runs in one transaction under the same lock. An Append
// that returned is committed (sessions whose synchronous_commit is off are
// switched back on); one whose connection failed with its COMMIT sent asks
// the database whether the records are in before it answers, so that an
// error means they are not (unless it matches ErrUnknown).
//
// Tables (in the store's schema):
//
//	meta        format and schema version
//	head        one row: Seq and Hash of the last record (or the checkpoint)
//	records     seq, at (timestamptz, for people), time_ns (exact, indexed),
//	            event, msgid and client_msgid (trace.NormalizeID, indexed),
//	            hash, data (the canonical encoding)
//	addresses   (trace.NormalizeAddress of every address involved, seq)
//	generated   (trace.NormalizeID of every generated Message-ID, seq)
//	seals       every seal, in the order added
//	checkpoint  at most one row: the checkpoint of the last Cut
//
// A schema that already holds relations of these names but not this
// store's meta is refused with ErrNotStore, as are tables of the store
// altered so that it cannot use them; a newer schema version with
// ErrVersion. Migrations run in one transaction, under an advisory lock,
// and are idempotent: instances may open the store at once.
//
// Package pgtest, beside this one, starts a private PostgreSQL server for
// tests.
//
// Sources: PEC.md §14 (content and retention of the log), §9 (identifiers,
// compared without angle brackets, the domain case-insensitively).
package pgstore
