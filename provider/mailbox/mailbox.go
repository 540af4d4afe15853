package mailbox

import (
	"context"
	"io"
	"strings"
	"time"
)

// Folder names every mailbox has or may have: the names Dovecot gives
// these folders by default with the Maildir++ layout.
const (
	Inbox   = "INBOX"   // what the Delivery Point deposits (PEC.md §11.3)
	Sent    = "Sent"    // what the user sent
	Archive = "Archive" // every PEC message sent or received, read-only
)

// Store hands out the mailbox of each account. Mailboxes are created on
// first use. Implementations are safe for concurrent use, and a Mailbox
// they return may be shared by every server and delivery at once.
type Store interface {
	// Mailbox returns user's mailbox, creating it with its INBOX and Sent
	// folders if it does not exist.
	Mailbox(ctx context.Context, user string) (Mailbox, error)
}

// Mailbox is one account's folders. Every method is safe for concurrent
// use; a change is durable when the method returns without error.
type Mailbox interface {
	// Folders returns the names of the folders, INBOX first, then the
	// others sorted.
	Folders(ctx context.Context) ([]string, error)
	// CreateFolder creates an empty folder (ErrFolderExists if it exists).
	CreateFolder(ctx context.Context, name string) error
	// Deliver stores the message read from r in folder, with flags and the
	// internal date date (the zero time means now), and returns its UID.
	// The message is streamed to storage and durable when Deliver returns;
	// on error nothing is left in the folder. A message that would take
	// the mailbox past its quota is refused with ErrQuota, before
	// anything is written when the mailbox is already full; a delivery
	// into Archive is refused with ErrReadOnly (see Archiver).
	Deliver(ctx context.Context, folder string, r io.Reader, flags Flags, date time.Time) (uint32, error)
	// List returns the folder's state: UIDVALIDITY, next UID and its
	// messages in UID order.
	List(ctx context.Context, folder string) (*FolderData, error)
	// Open returns the message's bytes, exactly as delivered.
	Open(ctx context.Context, folder string, uid uint32) (io.ReadCloser, error)
	// SetFlags replaces the message's flags; \Deleted is refused in
	// Archive with ErrReadOnly.
	SetFlags(ctx context.Context, folder string, uid uint32, flags Flags) error
	// Expunge removes the messages with the given UIDs for good. UIDs that
	// name no message are ignored. The space they used is freed; Archive
	// is refused with ErrReadOnly.
	Expunge(ctx context.Context, folder string, uids []uint32) error
}

// Watcher is implemented by the mailboxes of both stores of this package,
// so that a server can tell its clients of a change at once rather than at
// its next look (IMAP IDLE).
type Watcher interface {
	// Changed returns a channel closed at the next change made to the
	// folder through this store, or found by it on disk. Changes made by
	// another process are found only when the folder is next read.
	Changed(folder string) <-chan struct{}
}

// Archiver is implemented by the mailboxes of both stores of this package:
// the Delivery Point files what it deposits in INBOX or Sent in the
// Archive folder too, where it stays when the user deletes it elsewhere.
// Archive is read-only: Deliver into it, Expunge from it and the \Deleted
// flag on its messages are refused with ErrReadOnly.
type Archiver interface {
	// DeliverArchived is Deliver into folder, which also files the same
	// message, \Seen, in Archive (created if missing). On Maildir both
	// are links to one file, so the bytes are stored once; Archive does
	// not count in the quota, which applies to folder as for Deliver. It
	// returns the UID in folder. On error neither folder holds the message.
	DeliverArchived(ctx context.Context, folder string, r io.Reader, flags Flags, date time.Time) (uint32, error)
}

// Metered is implemented by the mailboxes of both stores of this package:
// what a mailbox uses of its quota (IMAP GETQUOTA, RFC 9208).
type Metered interface {
	// Usage returns the bytes and messages the mailbox holds, Archive
	// aside, and its limit.
	Usage(ctx context.Context) (Usage, error)
}

// Usage is a mailbox's use of its quota. Archive does not count.
type Usage struct {
	Bytes    int64 // the sizes of its messages, as delivered
	Messages int64
	Limit    int64 // in bytes; 0 means no limit
}

// FolderData is a folder's state as returned by Mailbox.List.
type FolderData struct {
	Name        string
	UIDValidity uint32 // RFC 3501 §2.3.1.1; never 0
	UIDNext     uint32 // greater than every UID given so far
	Messages    []Message
	Size        int64 // sum of the messages' sizes: the bytes the folder uses
}

// Message describes one stored message.
type Message struct {
	UID          uint32
	Size         int64 // bytes, exactly as delivered
	Flags        Flags
	InternalDate time.Time
}

// Flags is a set of system flags (RFC 3501 §2.3.2).
type Flags uint8

// The system flags, with their Maildir letters.
const (
	Seen     Flags = 1 << iota // S
	Answered                   // R
	Flagged                    // F
	Deleted                    // T
	Draft                      // D
)

var flagNames = [...]string{"Seen", "Answered", "Flagged", "Deleted", "Draft"}

// String returns the flags as IMAP writes them, e.g. `\Seen \Deleted`.
func (f Flags) String() string {
	var b strings.Builder
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(`\` + n)
		}
	}
	return b.String()
}

// ParseFlag returns the system flag named name, with or without its
// backslash, in any case; ok is false for any other name.
func ParseFlag(name string) (f Flags, ok bool) {
	name = strings.TrimPrefix(name, `\`)
	for i, n := range flagNames {
		if strings.EqualFold(name, n) {
			return 1 << i, true
		}
	}
	return 0, false
}

var (
	_ Watcher = (*maildirBox)(nil)
	_ Watcher = (*memBox)(nil)

	_ Archiver = (*maildirBox)(nil)
	_ Archiver = (*memBox)(nil)
	_ Metered  = (*maildirBox)(nil)
	_ Metered  = (*memBox)(nil)
)
