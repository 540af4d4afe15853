// Package trace is a PEC provider's legal log: one Record for every event
// of every message (acceptance, non-acceptance, dispatch, taking charge,
// delivery, errors, virus findings, timeouts, anomalies), kept for 30
// months, from which a lost receipt is re-issued byte for byte.
//
// Records are chained by hash: each one carries the hash of the one before
// it, so altering, removing, inserting or reordering a record breaks the
// chain at that record. At intervals the chain head is sealed with the
// provider's signature (a detached CMS signature made with the same key
// that signs receipts), so that the log as a whole cannot be rewritten
// without the key. Pruning what is older than the retention period replaces
// the cut records by a signed Checkpoint, from which the rest of the chain
// still verifies.
//
// A Store keeps the records; implementations live in sub-packages and pass
// the conformance suite of package tracetest.
//
// Sources: PEC.md §14 (required content, retention, the de facto line
// format of provider logs), §9 (identifiers), DPR 68/2005 art. 11 (30
// months).
package trace
