// Package memstore is an in-memory trace.Store: the reference
// implementation of the contract that package tracetest checks, and a
// fixture for tests of software that logs. Nothing survives the process.
//
// Sources: PEC.md §14 (what the log holds), §9 (identifiers, compared
// without brackets and with the domain case-insensitive).
package memstore
