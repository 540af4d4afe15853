// Package mailbox stores a PEC provider's user mailboxes: what the Delivery
// Point deposits, unchanged (PEC.md §11.3), and what the IMAPS and POP3S
// servers give back to users (PEC.md §15.1).
//
// A Store hands out one Mailbox per account. Two implementations are given:
// OpenMaildir keeps each mailbox as a Maildir (one file per message, written
// in tmp/, synced, renamed into new/ or cur/, the directory synced; on Linux
// the file in tmp/ has no name until it is linked into new/ or cur/) in the
// layout Dovecot, Postfix and mutt read, and NewMemory keeps everything in
// memory for tests. Dovecot can serve the same directories at the same
// time: both see the same folders, UIDs, flags and dates (a test runs a
// real Dovecot on folders this package wrote, and the other way round).
//
// Maildir layout, for the folder names Dovecot uses by default with the
// Maildir++ layout:
//
//	<root>/<user>/{tmp,new,cur}/           INBOX
//	<root>/<user>/.Sent/{tmp,new,cur}/      Sent, with an empty maildirfolder file
//	<root>/<user>/.Archive/...              Archive
//	<dir>/dovecot-uidlist                   UIDVALIDITY, next UID and UIDs (version 3)
//
// File names follow the Maildir specification with Dovecot's extensions:
// "<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>:2,<flags>", the flag letters D
// (draft), F (flagged), R (answered), S (seen) and T (deleted) in ASCII order;
// the file's modification time is the message's internal date, as Dovecot
// keeps it. Letters this package does not know (P, keyword letters) are kept
// when flags change.
//
// UIDs are given under Dovecot's lock, dovecot-uidlist.lock: new records
// are appended to dovecot-uidlist as Dovecot does, and the file is rewritten
// (in the lock file, synced, renamed over it) when most of its records are
// stale. Flag changes are renames within the folder; a file renamed or
// removed by another program is found by scanning the folder again.
//
// Quota: MaildirOptions.Quota (or UserQuota, per user; Memory.SetQuota)
// bounds the bytes a mailbox holds. Deliver refuses a message that does
// not fit with ErrQuota: before reading it when the mailbox is full, else
// after streaming it into tmp/ (at most one byte past the room left) and
// before placing it, so that nothing stored is touched. The check is made
// again under a per-mailbox lock just before the message is placed, so
// that concurrent deliveries cannot pass the limit together. The usage is
// kept as Dovecot's Maildir++ quota keeps it, in <root>/<user>/maildirsize:
// a header "<limit>S", then a line "<bytes> <messages>" appended and
// synced per delivery or expunge. The file is recomputed from the ",S="
// sizes of the files (written in maildirsize.lock, synced, renamed over
// it) at the first use by a process, and whenever it is missing, cannot
// be read, is longer than 5120 bytes, names another limit, or says "full"
// and is older than 15 minutes. Between processes (Dovecot delivering
// too) the Maildir++ quota is not locked and may be passed by one message,
// as with Dovecot itself.
//
// Archive: DeliverArchived (Archiver) files a copy of what the Delivery
// Point deposits in INBOX or Sent into the Archive folder, \Seen, as a
// hard link to the same file, so that the bytes are stored once. Archive
// is read-only: Deliver into it, Expunge from it and the \Deleted flag on
// its messages are refused with ErrReadOnly; a message expunged from INBOX
// stays there. Archive does not count in the quota: a user could never
// free what it holds. A Dovecot serving the same folders needs the rule
// "quota_rule2 = Archive:ignore" to count the same.
//
// Sources: the Maildir specification (cr.yp.to/proto/maildir.html), the
// Maildir++ folder and quota conventions (Courier's maildirquota, the
// maildirsize file), Dovecot's Maildir, dovecot-uidlist (version 3 format)
// and quota documentation, RFC 3501 §2.3.1.1 (UIDs, UIDVALIDITY).
//
// Tolerated divergences: a dovecot-uidlist of version 1 ("1 <uidvalidity>
// <nextuid>", lines "<uid> <name>"), or with unknown extension fields, is
// read; lines that cannot be read are skipped and their files get new UIDs
// (the UIDVALIDITY is kept unless no valid header is found). File names
// without ",S=" are sized with a stat. A maildirsize header's fields
// other than "<n>S" (the message count "<n>C") are ignored, and a file
// that cannot be read is recomputed rather than refused.
package mailbox
