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
// that returned is committed; sessions whose synchronous_commit is off are
// switched back on.
//
// Tables: meta (format and schema version), head, records, addresses,
// generated, seals, checkpoint. A schema that already holds tables of these
// names but not this store's meta is refused with ErrNotStore; a newer
// schema version with ErrVersion.
//
// Sources: PEC.md §14 (content and retention of the log), §9 (identifiers,
// compared without angle brackets, the domain case-insensitively).
package pgstore
