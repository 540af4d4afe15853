package trace

import (
	"context"
	"time"

	"github.com/pecsdk/pec/pec"
)

// Store keeps a provider's trace records. Implementations are safe for
// concurrent use and pass the conformance suite of package tracetest.
//
// The store, not the caller, decides each record's place in the chain:
// Append assigns Seq, Prev and Hash atomically, so that concurrent writers,
// in one process or in several sharing one store, can never fork the
// chain.
type Store interface {
	// Append adds records at the end of the log, in the order given, and
	// returns once they are durable (on disk, committed). It sets each
	// record's Seq, Prev, MessageHash (when Message is inline and
	// MessageHash is zero) and Hash. A record that fails Validate, or is
	// over the store's size limit (ErrTooLarge), fails the whole call
	// and nothing of it is written.
	Append(ctx context.Context, recs ...*Record) error

	// Head returns the Seq and Hash of the last record; (0, zero Hash) for
	// an empty log, or the Checkpoint's Seq and Head when everything kept
	// was pruned.
	Head(ctx context.Context) (seq uint64, head Hash, err error)

	// Get returns the record at seq, or an error matching ErrNotFound.
	Get(ctx context.Context, seq uint64) (*Record, error)

	// Scan calls fn for every record with Seq >= from, in Seq order, as
	// stored (no check made), until fn returns an error, which Scan
	// returns. It is what Verify walks.
	Scan(ctx context.Context, from uint64, fn func(*Record) error) error

	// Query returns the records that match every non-zero field of q, in
	// Seq order.
	Query(ctx context.Context, q Query) ([]*Record, error)

	// Reissue returns the signed bytes of the generated message (receipt,
	// notice, envelope) whose Message-ID is messageID, exactly as they were
	// sent, from a record that keeps them inline for that identifier
	// (Record.Keeps: a record listing it among several generated messages
	// keeps none), or an error matching ErrNotFound.
	Reissue(ctx context.Context, messageID string) ([]byte, error)

	// AddSeal stores a seal of the chain head. The store checks that
	// s.Head is the hash of record s.Seq (ErrSealMismatch) but not the
	// signature: Verify does.
	AddSeal(ctx context.Context, s *Seal) error

	// Seals returns the stored seals in Seq order.
	Seals(ctx context.Context) ([]*Seal, error)

	// Cut removes every record with Seq <= cp.Seq and every seal they
	// alone cover, and stores cp in their place, atomically. cp.Head must
	// be the hash of record cp.Seq (ErrSealMismatch). Use Prune, which
	// makes and signs the checkpoint.
	Cut(ctx context.Context, cp *Checkpoint) error

	// Checkpoint returns the checkpoint of the last Cut, or nil when
	// nothing was ever cut.
	Checkpoint(ctx context.Context) (*Checkpoint, error)

	// Close releases the store. Appends that returned are already durable.
	Close() error
}

// Query selects records. Zero fields match everything; the others must all
// match. An identifier or address made only of brackets and space matches
// no record.
type Query struct {
	MsgID       string    // the provider message identifier (Record.MsgID), brackets and case of the domain ignored
	ClientMsgID string    // the client's Message-ID (Record.ClientMsgID), likewise
	Address     string    // sender, any recipient, Delivery or Reception; case-insensitive
	Since       time.Time // Record.Time >= Since
	Until       time.Time // Record.Time < Until
	Limit       int       // at most this many records (0: no limit), the first in Seq order
}

// Match reports whether r satisfies every non-zero field of q but Limit.
// Stores may use it to filter what their indexes found.
func (q *Query) Match(r *Record) bool {
	if q.MsgID != "" && (pec.NormalizeMsgID(q.MsgID) == "" || !equalID(q.MsgID, r.MsgID)) {
		return false
	}
	if q.ClientMsgID != "" && (pec.NormalizeMsgID(q.ClientMsgID) == "" || !equalID(q.ClientMsgID, r.ClientMsgID)) {
		return false
	}
	if !q.Since.IsZero() && r.Time.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && !r.Time.Before(q.Until) {
		return false
	}
	if q.Address != "" && !r.Involves(q.Address) {
		return false
	}
	return true
}
