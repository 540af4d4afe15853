// Package spooltest is the conformance suite of spool.Spool: Run checks
// what every implementation must do (Put and Get of every envelope field,
// bodies read back byte for byte and streamed, IDs refused when they
// exist or could name a path, steps recorded once with their first
// output kept, retries counted and scheduled, Pending's filter and order,
// Complete, context cancellation, Close, and concurrent calls from many
// goroutines); RunDurable checks that a spool reopened on the same
// location holds everything it acknowledged and nothing it completed;
// RunTorn, given a function that tears a spool's last write as a crash
// before its fsync may, checks that the torn write is absent or whole
// and everything acknowledged before it is there.
//
// A spool's own test calls them with a function that opens a fresh spool:
//
//	func TestConformance(t *testing.T) {
//		spooltest.Run(t, func(t *testing.T) spool.Spool { return spool.NewMemory(nil) }, &spooltest.Options{HoldsBodies: true})
//	}
//
// Sources: the spool.Spool contract; PEC.md §3.1 (the provider's
// listeners), §10.3 (the limits that count from Item.Received), §11 (the
// processing steps an item goes through).
package spooltest
