// Package tracetest is the conformance suite of trace.Store: Run checks
// what every implementation must do (Append assigning the chain, batch
// atomicity, refusals, Head, Get, Scan, every Query field, Reissue, seals,
// Cut and the checkpoint, concurrent appends that never fork the chain,
// that trace.Verify finds what is wrong with what the store returns, and
// that trace.Prune refuses a rewritten prefix and survives another Prune
// and Verify running beside it);
// RunDurable checks that a store reopened on the same location holds
// everything it acknowledged.
//
// A store's own test calls them with a function that opens a fresh store:
//
//	func TestConformance(t *testing.T) {
//		tracetest.Run(t, func(t *testing.T) trace.Store { return memstore.New(nil) })
//	}
//
// Sources: the trace.Store contract; PEC.md §14 (the content of a record),
// §9 (identifiers compared without brackets, domains case-insensitively).
package tracetest
