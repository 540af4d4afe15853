package mailbox

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNoFolder is returned for a folder that does not exist.
	ErrNoFolder = errors.New("mailbox: no such folder")
	// ErrFolderExists is returned by CreateFolder for a folder that exists.
	ErrFolderExists = errors.New("mailbox: folder exists")
	// ErrInvalidFolder is returned for a folder name that cannot be stored.
	ErrInvalidFolder = errors.New("mailbox: invalid folder name")
	// ErrInvalidUser is returned for a user name that cannot be stored.
	ErrInvalidUser = errors.New("mailbox: invalid user name")
	// ErrNoMessage is returned for a UID that names no message.
	ErrNoMessage = errors.New("mailbox: no such message")
	// ErrAuth is returned by an Authenticator for a wrong user or password.
	ErrAuth = errors.New("mailbox: authentication failed")
	// ErrLocked is returned when a lock file held by another process does
	// not go away in time.
	ErrLocked = errors.New("mailbox: folder locked")
	// ErrQuota is returned by Deliver when the message would take the
	// mailbox past its quota: nothing is stored (RFC 9208 OVERQUOTA; the
	// Delivery Point answers with a non-delivery, PEC.md §6.8).
	ErrQuota = errors.New("mailbox: quota exceeded")
	// ErrReadOnly is returned for a change refused in the Archive folder:
	// messages are filed there by DeliverArchived only, and never removed.
	ErrReadOnly = errors.New("mailbox: folder is read-only")
)

// Error says which operation failed, on which user, folder and message.
// Match the cause with errors.Is (one of the sentinels above, or an I/O
// error from the file system).
type Error struct {
	Op     string // "deliver", "list", "open", "set flags", "expunge", "create folder", ...
	User   string
	Folder string
	UID    uint32 // 0 when no message is concerned
	Err    error
}

func (e *Error) Error() string {
	s := "mailbox: " + e.Op
	if e.User != "" {
		s += " " + e.User
	}
	if e.Folder != "" {
		s += "/" + e.Folder
	}
	if e.UID != 0 {
		s += fmt.Sprintf(" uid %d", e.UID)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
