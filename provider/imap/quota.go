package imap

import (
	"context"
	"errors"

	"github.com/pecsdk/pec/provider/mailbox"
)

// The QUOTA extension (RFC 9208), answered in front of imapserver, which
// has no hook for it (wire.go): GETQUOTAROOT and GETQUOTA tell the
// mailbox's usage and limit, SETQUOTA is refused. There is one quota
// root, "", over every folder but Archive, which does not count (see
// package mailbox); it exists when the mailbox has a limit. Only STORAGE
// is a resource: the limit is in bytes, with no limit on the number of
// messages.

// quotaCaps are the capabilities added once logged in, to a mailbox that
// tells its usage (mailbox.Metered).
const quotaCaps = " QUOTA QUOTA=RES-STORAGE"

// isOwn reports whether a command is answered in front of imapserver.
func isOwn(name string) bool {
	switch name {
	case "GETQUOTAROOT", "GETQUOTA", "SETQUOTA":
		return true
	}
	return false
}

// metered reports whether the session is logged in to a mailbox that
// tells its usage.
func (ss *session) metered() bool {
	if ss == nil || ss.box == nil {
		return false
	}
	_, ok := ss.box.(mailbox.Metered)
	return ok
}

// kib is RFC 9208's STORAGE unit, 1024 bytes, rounded up as Dovecot does.
func kib(n int64) int64 { return (n + 1023) / 1024 }

// answer returns the responses to one of the commands of isOwn.
func (ss *session) answer(c ownCommand, perr error) []byte {
	tagged := func(b []byte, status, text string) []byte {
		b = append(b, c.tag...)
		b = append(b, ' ')
		b = append(b, status...)
		b = append(b, ' ')
		b = append(b, text...)
		return append(b, "\r\n"...)
	}
	if !ss.metered() {
		return tagged(nil, "BAD", "Unknown command")
	}
	if c.name == "SETQUOTA" {
		return tagged(nil, "NO", "[NOPERM] quotas are set by the provider")
	}
	if perr != nil || len(c.args) != 1 {
		return tagged(nil, "BAD", "[CLIENTBUG] Syntax error: "+c.name+" takes one argument")
	}
	ctx := ss.ctx()
	arg := c.args[0]
	counted := true
	if c.name == "GETQUOTAROOT" {
		name := folderName(arg)
		arg = name
		folders, err := ss.box.Folders(ctx)
		if err != nil {
			return tagged(nil, "NO", ss.quotaError(err))
		}
		found := false
		for _, f := range folders {
			if f == name {
				found = true
			}
		}
		if !found {
			return tagged(nil, "NO", "[NONEXISTENT] no such folder")
		}
		counted = name != mailbox.Archive
	} else if arg != "" {
		return tagged(nil, "NO", "[NONEXISTENT] no such quota root")
	}
	u, err := ss.box.(mailbox.Metered).Usage(ctx)
	if err != nil {
		return tagged(nil, "NO", ss.quotaError(err))
	}
	var b []byte
	root := counted && u.Limit > 0
	if c.name == "GETQUOTAROOT" {
		b = append(b, "* QUOTAROOT "...)
		b = quoteAString(b, arg)
		if root {
			b = append(b, ` ""`...)
		}
		b = append(b, "\r\n"...)
	} else if u.Limit <= 0 {
		return tagged(nil, "NO", "[NONEXISTENT] no such quota root: the mailbox has no limit")
	}
	if root {
		b = append(b, `* QUOTA "" (STORAGE `...)
		b = appendInt(b, kib(u.Bytes))
		b = append(b, ' ')
		b = appendInt(b, kib(u.Limit))
		b = append(b, ")\r\n"...)
	}
	return tagged(b, "OK", c.name+" completed")
}

// quotaError logs a failure to read the usage and returns the text of
// the NO.
func (ss *session) quotaError(err error) string {
	if !errors.Is(err, context.Canceled) {
		ss.s.opts.Logger.Error("imap: quota", append(ss.log, "err", err)...)
	}
	return "[SERVERBUG] quota unavailable"
}
