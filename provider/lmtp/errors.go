package lmtp

import "errors"

// ErrUnsupported is returned for everything but Deliver: reading and
// changing the mailboxes is left to Dovecot.
var ErrUnsupported = errors.New("lmtp: not supported: the mailbox is read through Dovecot")
