// Package imap is the provider's IMAP server: how users read their PEC
// mailbox over IMAPS (PEC.md §15.1), from a mailbox.Store, with the
// passwords checked by a mailbox.Authenticator.
//
// The protocol is spoken by go-imap's imapserver; this package is the
// backend that maps its sessions onto mailbox.Mailbox and the server
// around it (timeouts, failed-login throttling, Shutdown). None of
// go-imap's types appear in the exported API.
//
// Serve it with ServeTLS for implicit TLS (IMAPS, port 993), or with Serve
// on a plain listener and Options.TLSConfig set for STARTTLS (port 143).
// Serve on a tls.Listener works too, but then the connection deadlines are
// imapserver's own (30 seconds per command, 35 minutes idle) rather than
// Options.ReadTimeout.
//
// Sources: RFC 3501 (IMAP4rev1), RFC 4315 (UIDPLUS), RFC 2177 (IDLE),
// RFC 6154 (the \Sent and \Archive attributes), RFC 4616 (PLAIN), RFC 9208
// (QUOTA).
//
// Quota and Archive: an APPEND or COPY that would take the mailbox past
// its quota (mailbox.ErrQuota) is refused with NO [OVERQUOTA]; a COPY
// refused halfway removes what it had copied. Archive, where the Delivery
// Point files every certified message (mailbox.Archiver), is read-only:
// STORE of \Deleted, EXPUNGE of messages flagged \Deleted by another
// program, and APPEND or COPY into it are refused with NO [NOPERM], and its
// PERMANENTFLAGS lack \Deleted; its other flags can be changed.
//
// The holder sees the quota with GETQUOTAROOT and GETQUOTA (RFC 9208),
// announced as QUOTA and QUOTA=RES-STORAGE once logged in to a mailbox
// that tells its usage (mailbox.Metered): one quota root, "", over every
// folder but Archive, with the STORAGE resource in KiB rounded up, as
// Dovecot counts the same Maildir; a mailbox without a limit has no quota
// root. SETQUOTA is refused with NO [NOPERM]: limits are the provider's.
// go-imap v2.0.0-beta.8's imapserver has no hook for commands it does not
// know, so these are answered in front of it, on the connections of
// ServeTLS only: the client's bytes are handed to imapserver one command
// at a time, and a whole command of QUOTA found where a command starts,
// once imapserver has answered every earlier one, is answered instead of
// being handed on. Connections of Serve (STARTTLS, on which imapserver
// itself starts TLS) do not offer QUOTA. On these connections too, the
// responses to a FETCH are gathered into writes of up to 64 KiB.
//
// FETCH ENVELOPE answers from the envelopes already read, up to 50,000 per
// server, as Dovecot does from its index cache: a message never changes
// under its UID and UIDVALIDITY.
//
// Divergences: the folder hierarchy separator is '.', as Dovecot's
// Maildir++ layout has it, but folders cannot nest; DELETE, RENAME and
// MOVE are refused; every folder counts as subscribed; only the system
// flags are kept (PERMANENTFLAGS has no \*), and \Recent is never set.
// SEARCH BODY and TEXT compare raw bytes, case-insensitively, without
// decoding MIME parts. Command lines are bounded by imapserver to 50 KiB: a
// longer one ends the session.
package imap
