package spool

import (
	"context"
	"io"
	"time"
)

// Spool keeps the messages a provider has accepted until every step of
// their processing is done. Implementations are safe for concurrent use
// and pass the conformance suite of package spooltest.
//
// Every write returns once what it wrote is durable (fsync'd, committed):
// after a crash, what a call acknowledged with a nil error is there, whole,
// and what it did not is either there whole or absent, never partly
// written. A write whose context is done before it commits changes
// nothing and returns the context's error.
type Spool interface {
	// Put stores a new item and its body, read from body to io.EOF (nil:
	// an empty body), and
	// returns once both are durable: only then may the SMTP server answer
	// 250. The body is streamed, never held in memory. A zero
	// it.Received is set to the time of Put; Received is kept to the
	// microsecond. An item whose ID is already in the spool is refused
	// with an error matching ErrExists, and the stored item is left
	// unchanged; once Complete has removed an item, its ID may be used
	// again. An invalid item is refused with an *InvalidError. When Put
	// fails (the body's reader, the context, the disk), nothing is stored.
	Put(ctx context.Context, it *Item, body io.Reader) error

	// Get returns where item id stands: its envelope, body size, the
	// steps done and the retries scheduled, or an error matching
	// ErrNotFound.
	Get(ctx context.Context, id string) (*State, error)

	// Body opens the body of item id exactly as Put read it, or returns an
	// error matching ErrNotFound. The reader stays usable after Complete
	// and Close. A body found damaged is reported by the reader with a
	// *CorruptError, at the latest when it reaches the end.
	Body(ctx context.Context, id string) (io.ReadCloser, error)

	// Done records that step of item id is finished, with its output read
	// from output to io.EOF (nil: no output), and returns once the record
	// is durable. It is the commit point of the step: a step whose result
	// must be the same after a restart (a signed receipt, a transport
	// envelope) records that result as its output, and what it sends is
	// always read back with Output, never the bytes it produced itself.
	// A step already done keeps its first output: Done then reads
	// nothing from output and returns nil once that first record is
	// durable. Done clears the step's retry. It returns an error matching
	// ErrNotFound when the item is not in the spool, and an *InvalidError
	// for an invalid step name.
	Done(ctx context.Context, id, step string, output io.Reader) error

	// Output opens the output recorded by Done for step of item id, or
	// returns an error matching ErrNotFound when the item or the step is
	// not there. Like Body, it reports damage with a *CorruptError.
	Output(ctx context.Context, id, step string) (io.ReadCloser, error)

	// Retry durably records a failed attempt at step of item id, with its
	// cause, and when to try again, and returns how many attempts have
	// failed so far (1 after the first call). Each call replaces the
	// previous schedule of that step whole. For a step already done it
	// records nothing and returns 0. It returns an error matching
	// ErrNotFound when the item is not in the spool.
	Retry(ctx context.Context, id, step string, next time.Time, cause string) (attempts int, err error)

	// Pending returns the items in the spool (every item not yet
	// completed), filtered by opts (nil: all of them), ordered by when
	// they are due (State.Due), then by ID. It is what a restart walks
	// and what the retry loop polls; the caller skips the items it is
	// processing itself.
	Pending(ctx context.Context, opts *PendingOptions) ([]*State, error)

	// Complete removes item id, its body, steps and retries, once
	// everything about it is done, and returns once the removal is
	// durable: a completed item never comes back after a crash. It
	// returns an error matching ErrNotFound when the item is not there.
	Complete(ctx context.Context, id string) error

	// Close releases the spool. Calls under way are interrupted (a Put
	// still reading its body fails with ErrClosed and stores nothing) and
	// waited for: a body's reader blocked in Read holds Close until it
	// returns, so a server closes its connections first. Later calls
	// return an error matching ErrClosed. What was acknowledged before is
	// already durable.
	Close() error
}

// Role names the listener of the provider that accepted a message.
type Role string

// The provider's listeners (PEC.md §3.1).
const (
	// RoleAccess is the access point: a user's submission, authenticated.
	RoleAccess Role = "access"
	// RoleIncoming is the incoming point: the MX of the PEC domains,
	// receiving from other providers and from ordinary Internet mail.
	RoleIncoming Role = "incoming"
)

// Item is the envelope of a spooled message: what the provider needs to
// process it besides its body. Strings are valid UTF-8 without NUL bytes.
type Item struct {
	// ID names the item in the spool: chosen by the provider, unique
	// among the items spooled (ValidID).
	ID string
	// Role is the listener that accepted the message.
	Role Role
	// From is the SMTP MAIL FROM reverse-path, without angle brackets;
	// empty for the null reverse-path.
	From string
	// To lists the SMTP RCPT TO forward-paths, in order, without angle
	// brackets.
	To []string
	// User is the authenticated user (the access point), empty when the
	// session did not authenticate.
	User string
	// Peer is the address of the SMTP client, as host:port.
	Peer string
	// Helo is the name the client gave in EHLO or HELO.
	Helo string
	// Received is when the message was accepted: the PEC 12 h and 24 h
	// limits count from it (PEC.md §10.3). Zero on Put: the time of Put.
	Received time.Time
	// Meta is for the caller (the PEC identifier, the TLS state, ...).
	// An empty map is returned as nil.
	Meta map[string]string
}

// State is where a spooled item stands.
type State struct {
	Item Item
	// Size is the length of the body in bytes.
	Size int64
	// Steps lists the steps done, sorted.
	Steps []string
	// Retries lists the retries scheduled for steps not done, sorted by
	// step.
	Retries []Retry
}

// Retry is the retry schedule of one step.
type Retry struct {
	Step     string    // the step that failed
	Attempts int       // failed attempts so far
	Next     time.Time // when to try again, to the microsecond
	Cause    string    // why the last attempt failed
}

// Done reports whether step is among the steps done.
func (s *State) Done(step string) bool {
	for _, d := range s.Steps {
		if d == step {
			return true
		}
	}
	return false
}

// Due returns when the item next needs work: the earliest Next of its
// retries, or, when none is scheduled (a new item, or one a crash
// interrupted), its Received time.
func (s *State) Due() time.Time {
	if len(s.Retries) == 0 {
		return s.Item.Received
	}
	due := s.Retries[0].Next
	for _, r := range s.Retries[1:] {
		if r.Next.Before(due) {
			due = r.Next
		}
	}
	return due
}

// PendingOptions filters what Pending returns. Zero fields filter nothing.
type PendingOptions struct {
	// Due keeps only the items due at that time (State.Due not after it).
	Due time.Time
	// Limit returns at most this many items, the first in Pending's
	// order (0: no limit).
	Limit int
}
